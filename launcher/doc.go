// Package launcher takes a session from the browser's trustlaunch:// link to
// a running emulator (docs/design.md "What trustlaunch is").
//
//   - Launch runs a whole launch from its Options, one step after the other:
//     the whitelist decision (package whitelist, asking the user through
//     Options.Prompter), descriptor.Fetch from the decided origin over
//     HTTPS, the admin policy's check of the descriptor (package policy),
//     the emulator profile (LoadProfiles: built-ins, then the admin's, then
//     the user's if no one else could have written it — a descriptor only
//     names one), the tunnel (package connector) with the first connection
//     dialed ahead, the emulator in its own process group, teardown, and an
//     audit record (package audit). It reports its progress phase by phase to
//     Options.Status, and refuses at once where the connector cannot check
//     who connects to the local end, and on macOS unless the administrator
//     enabled it and the owner check's self-check passes (macgate.go).
//   - Options.LaunchURL takes the descriptor URL that package link reads
//     out of the trustlaunch:// link (link.Parse, link.DescriptorURL;
//     docs/design.md "The link and the descriptor URL").
//   - RunRecorder runs an emulator inside the terminal window a browser
//     launch opens for it and hands its exit status back, which the window
//     itself does not (`trustlaunch __in-terminal`).
//   - Detect answers a portal's detect link with a POST of what this
//     trustlaunch is, under the same whitelist decision as a launch.
//
// It imports no user interface: the caller (cmd/trustlaunch) passes the
// trust prompt as a whitelist.Prompter and the status screen as the Status
// callback. Nothing from a descriptor becomes a command line except through
// a profile defined on this machine; text from the network is sanitized
// before a terminal, a log or an error sees it.
package launcher
