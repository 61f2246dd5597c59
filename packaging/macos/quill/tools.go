//go:build tools

// Package quill pins github.com/anchore/quill, which signs trustlaunch's
// darwin executables at release time (scripts/macos-sign.sh). It is a
// module of its own so that quill and its dependencies never enter the
// module graph of trustlaunch itself: they are a build tool, not part of
// what users run.
package quill

import _ "github.com/anchore/quill/cmd/quill"
