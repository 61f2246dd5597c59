// Command echod is an echo server for tests that must keep the destination
// out of the test process, such as the RSS-per-tunnel benchmark, where an
// in-process destination would add its own per-connection memory to the
// measurement. It is part of the real-peer test harness (package peers).
//
// It serves the listening socket it inherits as file descriptor 3, so the
// harness chooses the port without a race, and exits when stdin closes or
// on SIGTERM.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	ln, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "echod: error: fd 3 is not a listening socket: %v\n", err)
		os.Exit(1)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Printf("echod: serving %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "echod: error: %v\n", err)
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}
