//go:build !windows

package main

import "syscall"

// errAddrInUse is the errno of a bind to a port in use (see
// errno_windows_test.go for Windows').
var errAddrInUse error = syscall.EADDRINUSE
