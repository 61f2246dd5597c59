// Command hello is a small darwin program the tests build to make Mach-O
// slices, so that they need not build all of trustlaunch.
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
