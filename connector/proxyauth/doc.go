// Package proxyauth signs trustlaunch on to an outbound (company) proxy
// that asks for it with 407 Proxy Authentication Required: the Negotiate
// scheme (RFC 4559, SPNEGO) with the user's own domain login, and the
// reading of the Proxy-Authenticate challenges.
//
// Negotiate takes no password from anywhere. On Windows it is SSPI's
// Negotiate package for the logged-on user (Kerberos, with NTLM where
// Kerberos cannot be used, as the browsers do). Elsewhere it is Kerberos
// from the user's credential cache (KRB5CCNAME, FILE: and DIR: caches,
// read by the pure-Go github.com/jcmturner/gokrb5): what kinit, the
// desktop login (sssd, with krb5_ccname_template FILE:) or a keytab cron
// job put there. Kernel keyrings (KEYRING:), sssd's and macOS's cache
// daemons (KCM:, API:) are not readable without the C libraries, and are
// refused with a message that says how to get a FILE: cache. NTLM on
// Linux is not offered: it needs the user's password or its hash at
// hand, which is exactly what this package never holds.
//
// The service principal is HTTP/<the proxy's host name as configured>,
// never a name from DNS (no reverse lookup, no CNAME chasing): a spoofed
// DNS answer cannot make trustlaunch ask the KDC for a ticket to another
// service. No credential is delegated to the proxy.
package proxyauth
