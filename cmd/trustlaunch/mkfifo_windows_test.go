package main

import "errors"

// mkfifo fails: Windows file systems hold no named pipes (its pipes live
// under \\.\pipe\), so a script that makes one is marked [!windows].
func mkfifo(string) error {
	return errors.New("mkfifo: Windows has no named pipes in its file systems; mark the line [!windows]")
}
