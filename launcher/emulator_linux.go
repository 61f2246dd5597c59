package launcher

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const ioctlGetTermios = unix.TCGETS

// setDeathSignal asks the kernel to SIGKILL the emulator if trustlaunch dies
// without tearing down (killed with SIGKILL): the tunnel it used is gone.
func setDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
