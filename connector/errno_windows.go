package connector

import "golang.org/x/sys/windows"

// errConnRefused is the errno of a refused TCP connect: Winsock's own code,
// which errors.Is does not equate with syscall.ECONNREFUSED on Windows.
var errConnRefused error = windows.WSAECONNREFUSED
