// Package squidacl is the Squid side of the session token check: Squid's
// external ACL helper protocol (squid.conf.documented, TAG
// external_acl_type), and the check that answers it with
// sessiontoken.Verifier. cmd/trustlaunch-tokencheck runs it.
//
// squid.conf gives the helper, for each CONNECT, one line:
//
//	[channel-ID] %>ha{Proxy-Authorization} %SRC %DST %PORT %DATA
//
// each value URL-escaped, "-" for one that is absent, separated by single
// spaces; %DATA (the acl line's arguments) is "-", and Squid appends it
// when the format leaves it out. With concurrency= above 0 in squid.conf,
// a channel ID (a decimal number below the concurrency) comes first, and
// the answer must echo it; answers may then come in any order. The helper
// detects the channel ID by the count of fields, so the same binary serves
// either setting.
//
// The answer is one line: "[channel-ID] OK user=SUB log=jti%3DJTI" for a
// token that admits the request, "ERR message=REASON" for one that does
// not (missing, expired, for another destination, ...), and "BH
// message=..." when the helper cannot tell (a line it does not
// understand, a replay store that cannot answer). Squid refuses the
// request on ERR and on BH alike (BH is ACCESS_DUNNO there, which ends the
// http_access check without allowing).
//
// What goes to the helper's log (its stderr, which Squid writes to
// cache.log) is one line per refusal or error, with the reason, the
// client's address, the destination and, once the signature verified, the
// token's kid, sub and jti: never the token, and nothing of the request
// line echoed unsanitized.
package squidacl
