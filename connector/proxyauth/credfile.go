package proxyauth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/trustlaunch/trustlaunch/platform"
)

// maxCredentialsFile bounds a credentials file: one line of a user name
// and a password.
const maxCredentialsFile = 4 << 10

// ReadCredentialsFile reads the Basic credentials for the outbound proxy
// from path, a file of the user's own: its first line that is neither
// blank nor a "#" comment is USER:PASSWORD (split at the first ":", so
// the password may hold colons). The file must pass the user-file rule
// (platform.ReadUserFile: it and its directory are the user's, nobody
// else can write them) and, on Unix, no one but its owner may read it
// (chmod 600). That keeps the password off command lines and out of the
// environment, where the user's other programs can read it.
//
// Errors name the file and never quote its content.
func ReadCredentialsFile(path string) (user, password string, err error) {
	data, err := platform.ReadUserFile(path, maxCredentialsFile)
	if err != nil {
		var u *platform.UnsafeFileError
		if errors.As(err, &u) && u.Fix != "" {
			return "", "", fmt.Errorf("%w (fix: %s)", err, u.Fix)
		}
		return "", "", err
	}
	if err := readableByOthers(path); err != nil {
		return "", "", err
	}
	user, password, err = ParseCredentials(data)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	return user, password, nil
}

// ParseCredentials reads USER:PASSWORD from the first line of data that
// is neither blank nor a "#" comment (UTF-8, with or without a BOM, LF
// or CRLF). Its errors never quote data.
func ParseCredentials(data []byte) (user, password string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return "", "", errors.New("not UTF-8 text")
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", "", fmt.Errorf("line %d has a control character", n+1)
		}
		u, p, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			return "", "", fmt.Errorf("line %d: want USER:PASSWORD", n+1)
		case u == "":
			return "", "", fmt.Errorf("line %d: the user name is empty (want USER:PASSWORD)", n+1)
		case p == "":
			return "", "", fmt.Errorf("line %d: the password is empty (want USER:PASSWORD)", n+1)
		}
		return u, p, nil
	}
	return "", "", errors.New("no USER:PASSWORD line")
}
