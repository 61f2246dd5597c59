//go:build windows

// Command capturesd prints, for each SDDL string on its standard input (one
// a line), the self-relative security descriptor that Windows' own SDDL
// parser (ConvertStringSecurityDescriptorToSecurityDescriptorW, through
// windows.SecurityDescriptorFromString) builds from it, in hex. It made the
// descriptors in ../adminsd.txt under Wine 8.0:
//
//	GOOS=windows go build -o /tmp/capturesd.exe ./platform/testdata/capturesd
//	scripts/wine/exec /tmp/capturesd.exe < sddl.txt
//
// It lives in testdata so that it is never part of a build of the module.
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	status := 0
	for sc.Scan() {
		sddl := sc.Text()
		if sddl == "" {
			continue
		}
		sd, err := windows.SecurityDescriptorFromString(sddl)
		if err != nil {
			fmt.Fprintf(os.Stderr, "capturesd: %s: %v\n", sddl, err)
			status = 1
			continue
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(sd)), sd.Length())
		fmt.Printf("%s\n%s\n", sddl, hex.EncodeToString(b))
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "capturesd: %v\n", err)
		status = 1
	}
	os.Exit(status)
}
