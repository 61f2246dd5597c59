// Package link reads the trustlaunch:// link a browser hands over: the
// launch form, trustlaunch://launch?url=<descriptor URL>, and the detect
// form a portal uses to check the installation. Nothing else is accepted,
// and nothing of a refused link's query (which holds the ticket) appears in
// an error (docs/design.md "The link and the descriptor URL").
package link
