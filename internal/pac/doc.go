// Package pac evaluates proxy auto-config scripts (PAC: the
// FindProxyForURL function browsers run to choose a proxy) for
// trustlaunch's outbound connections on Linux and macOS.
//
// A PAC script is fetched over the company network, often over plain
// http, so it is untrusted input. It runs in a child process of
// trustlaunch (ServeChild, started as "trustlaunch __pac") with goja, a
// pure-Go JavaScript interpreter, and nothing but the ECMAScript
// built-ins and the PAC functions: the child limits its own memory with
// RLIMIT_AS and RLIMIT_DATA before it reads the script (goja has no
// memory limit of its own, dop251/goja#645), interrupts a script that
// runs past its time budget, and is killed by the parent when it does
// not answer shortly after. What a script returns is only a proxy list
// ("PROXY a:3128; DIRECT"): the connector reads it, and it can choose
// which outbound proxy carries a connection, never where the connection
// goes, its TLS verification, or the security proxy.
//
// On Windows, trustlaunch asks WinHTTP instead (platform).
package pac
