package main

import "golang.org/x/sys/windows"

// errAddrInUse is the errno of a bind to a port in use: Winsock's own code
// (syscall.EADDRINUSE is an invented value on Windows).
var errAddrInUse error = windows.WSAEADDRINUSE
