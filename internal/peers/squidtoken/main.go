// Command squidtoken is a Squid external ACL helper that admits a CONNECT
// request when its Proxy-Authorization header carries a valid session token.
//
// It is part of the real-peer test harness (package peers), not of the
// product. squid.conf wires it as:
//
//	external_acl_type bearer ttl=0 negative_ttl=0 concurrency=100 \
//	    %>ha{Proxy-Authorization} %DST %PORT %DATA \
//	    /path/squidtoken -key /path/token.key -concurrency
//	acl bearer_ok external bearer
//	http_access deny !bearer_ok
//	deny_info 407:ERR_CACHE_ACCESS_DENIED bearer_ok
//
// Protocol (squid.conf.documented, TAG external_acl_type): Squid writes one
// request per line, "[channel-ID] FORMAT-values", each value URL-escaped and
// "-" when absent; the helper answers one line per request,
// "[channel-ID] OK|ERR|BH [key=value ...]". With -concurrency the first field
// is the channel ID and is echoed back, which lets Squid keep up to
// concurrency= lookups in flight on one helper; the helper still answers them
// in order, since each check is a microsecond of HMAC.
//
// A request is OK when the header is "Bearer <token>", the token is an HS256
// JWS signed with the key (see package hs256), it has not expired, and its
// host and port claims equal the CONNECT destination. Anything else is ERR
// with a message= naming the reason, which Squid logs; the token itself is
// never written anywhere. The helper exits when Squid closes its stdin.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/trustlaunch/trustlaunch/internal/peers/hs256"
)

func main() {
	keyFile := flag.String("key", "", "HS256 key `file` (base64url, no newline)")
	concurrent := flag.Bool("concurrency", false, "requests start with a channel ID (squid.conf concurrency>0)")
	flag.Parse()
	if *keyFile == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: squidtoken -key FILE [-concurrency]")
		os.Exit(2)
	}
	key, err := hs256.ReadKeyFile(*keyFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "squidtoken: error: %v\n", err)
		os.Exit(1)
	}
	if err := serve(os.Stdin, os.Stdout, key, *concurrent, time.Now); err != nil {
		fmt.Fprintf(os.Stderr, "squidtoken: error: %v\n", err)
		os.Exit(1)
	}
}

// serve answers requests from r on w until r ends.
func serve(r io.Reader, w io.Writer, key []byte, concurrent bool, now func() time.Time) error {
	in := bufio.NewReader(r)
	out := bufio.NewWriter(w)
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			if _, werr := out.WriteString(answer(strings.TrimRight(line, "\r\n"), key, concurrent, now()) + "\n"); werr != nil {
				return werr
			}
		}
		// Flush once no further request is already buffered: Squid waits
		// for each answer, so holding one back could deadlock it, while
		// answering a burst of pipelined requests costs one write.
		if in.Buffered() == 0 || err != nil {
			if ferr := out.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// answer returns the response line for one request line.
func answer(line string, key []byte, concurrent bool, now time.Time) string {
	fields := strings.Fields(line)
	prefix := ""
	if concurrent {
		if len(fields) == 0 {
			return "BH message=no%20channel%20ID"
		}
		prefix, fields = fields[0]+" ", fields[1:]
	}
	// Squid appends %DATA (the acl line's arguments, "-" when none) to a
	// FORMAT that lacks it; the format names it explicitly, so expect 4.
	if len(fields) != 4 {
		return prefix + "BH message=" + url.PathEscape(fmt.Sprintf("want 4 fields, got %d", len(fields)))
	}
	if err := check(fields[0], fields[1], fields[2], key, now); err != nil {
		fmt.Fprintf(os.Stderr, "squidtoken: deny: %v\n", err)
		return prefix + "ERR message=" + url.PathEscape(err.Error())
	}
	return prefix + "OK"
}

// check validates one request's escaped header, destination host and port.
func check(authField, dstField, portField string, key []byte, now time.Time) error {
	if authField == "-" {
		return fmt.Errorf("no Proxy-Authorization header")
	}
	auth, err := url.PathUnescape(authField)
	if err != nil {
		return fmt.Errorf("undecodable Proxy-Authorization field")
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return fmt.Errorf("Proxy-Authorization is not a Bearer credential")
	}
	claims, err := hs256.Verify(key, strings.TrimSpace(token), now)
	if err != nil {
		return err
	}
	dst, err := url.PathUnescape(dstField)
	if err != nil {
		return fmt.Errorf("undecodable destination")
	}
	dst = strings.TrimSuffix(strings.TrimPrefix(dst, "["), "]")
	port, err := strconv.Atoi(portField)
	if err != nil {
		return fmt.Errorf("undecodable destination port")
	}
	if !strings.EqualFold(dst, claims.Host) || port != claims.Port {
		return fmt.Errorf("token is for %s:%d, not %s:%d", claims.Host, claims.Port, dst, port)
	}
	return nil
}
