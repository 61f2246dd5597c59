package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/trustlaunch/trustlaunch/platform"
	"github.com/trustlaunch/trustlaunch/policy"
	"github.com/trustlaunch/trustlaunch/whitelist"
)

// The --json documents of whitelist paths|show|explain and policy check,
// and the parts doctor shares with them. jsonout.go has the head every
// document starts with.

// fileJSON is one admin or user file and its ownership check.
type fileJSON struct {
	Path string `json:"path"`
	// State is "ok" (exists, passes the check), "absent", or "unusable"
	// (fails the check or cannot be read: for an admin file, every launch
	// stops; a user list is ignored).
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	Fix   string `json:"fix,omitempty"`
}

// checkFile reports the file at path under check (platform.CheckAdminFile
// or CheckUserFile), adding a problem to h when it cannot be used.
func checkFile(h *jsonHead, path string, err error, fix func(error) string) fileJSON {
	return checkFileAs(h, path, err, fix, severityError)
}

// checkFileAs is checkFile with the problem's severity: a user list that
// cannot be used is ignored, which is a warning.
func checkFileAs(h *jsonHead, path string, err error, fix func(error) string, severity string) fileJSON {
	f := fileJSON{Path: path, State: "ok"}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.State = "absent"
	case err != nil:
		f.State, f.Error, f.Fix = "unusable", err.Error(), fix(err)
		h.add(jsonProblem{File: path, Severity: severity, Message: f.Error, Fix: f.Fix})
	}
	return f
}

// groupPolicyJSON is what Windows Group Policy gives.
type groupPolicyJSON struct {
	Key string `json:"key"`
	// State is "absent" (no key, or not Windows), "ok" or "unusable"
	// (every launch stops).
	State string `json:"state"`
	// Sets names the settings it gives, each replacing the files' own.
	Sets  []string `json:"sets"`
	Error string   `json:"error,omitempty"`
	Fix   string   `json:"fix,omitempty"`
}

func readGroupPolicyJSON(h *jsonHead) groupPolicyJSON {
	g := groupPolicyJSON{Key: platform.GroupPolicyPath, State: "ok", Sets: []string{}}
	gp, err := platform.ReadGroupPolicy()
	var set policy.GPSettings
	if err == nil {
		set, err = policy.ParseGP(gp)
	}
	switch {
	case err != nil:
		g.State, g.Error = "unusable", err.Error()
		var ge *policy.GPError
		if errors.As(err, &ge) {
			g.Fix = ge.Hint()
		}
		h.add(jsonProblem{File: g.Key, Severity: severityError, Message: g.Error, Fix: g.Fix})
		return g
	case gp.Absent != "":
		g.State = "absent"
		return g
	}
	for _, x := range []struct {
		has  bool
		name string
	}{
		{set.HasAdminOnly, policy.GPAllowAdminListOnly},
		{set.HasServers, policy.GPServers},
		{set.HasRequireSigned, policy.GPRequireSigned},
		{set.HasProxies, policy.GPProxies},
		{set.HasDestinations, policy.GPDestinations},
		{set.HasPublishers, policy.GPPublishers},
		{set.HasOSLog, policy.GPOSLog},
	} {
		if x.has {
			g.Sets = append(g.Sets, x.name)
		}
	}
	return g
}

// wlPathsJSON is whitelist paths --json.
type wlPathsJSON struct {
	jsonHead
	AdminList   fileJSON        `json:"admin_list"`
	UserList    fileJSON        `json:"user_list"`
	AdminPolicy fileJSON        `json:"admin_policy"`
	GroupPolicy groupPolicyJSON `json:"group_policy"`
}

func wlPathsDoc(p *listPaths) wlPathsJSON {
	d := wlPathsJSON{jsonHead: newHead("whitelist paths")}
	d.AdminList = checkFile(&d.jsonHead, p.admin, platform.CheckAdminFile(p.admin), fixFor)
	d.UserList = checkFile(&d.jsonHead, p.user, platform.CheckUserFile(p.user), fixFor)
	src := policy.Load(p.policy)
	d.AdminPolicy = policyFileJSON(&d.jsonHead, p.policy, src)
	d.GroupPolicy = readGroupPolicyJSON(&d.jsonHead)
	d.OK = len(d.Problems) == 0
	return d
}

// policyFileJSON reports the admin policy file as Load found it.
func policyFileJSON(h *jsonHead, path string, src policy.Source) fileJSON {
	switch {
	case src.Err != nil:
		return checkFile(h, path, src.Err, policyFix)
	case src.Policy == nil || src.Policy.Path != path:
		return fileJSON{Path: path, State: "absent"}
	}
	return fileJSON{Path: path, State: "ok"}
}

// listJSON is one whitelist as a launch reads it.
type listJSON struct {
	fileJSON
	// From is where the entries came from when not Path: Group Policy's key.
	From    string      `json:"from,omitempty"`
	Entries []entryJSON `json:"entries"`
}

func newListJSON(h *jsonHead, src whitelist.Source, unusable string) listJSON {
	l := listJSON{fileJSON: fileJSON{Path: src.Path, State: "ok"}, Entries: []entryJSON{}}
	switch {
	case src.Err != nil:
		l.fileJSON = checkFileAs(h, src.Path, src.Err, fixFor, unusable)
		return l
	case src.List == nil:
		l.State = "absent"
		return l
	}
	if src.List.Path != src.Path {
		l.From = src.List.Path
	}
	for _, e := range src.List.Entries {
		l.Entries = append(l.Entries, entryJSON{e.String(), e.Line})
	}
	for _, pr := range src.Problems {
		sev := severityError
		if pr.Warning {
			sev = severityWarning
		}
		h.add(jsonProblem{File: src.Path, Line: pr.Line, Severity: sev, Message: pr.Msg})
	}
	return l
}

// policyJSON is what an admin policy says.
type policyJSON struct {
	Summary       string `json:"summary"`
	RequireSigned bool   `json:"require_signed"`
	// Proxies and Destinations are null when the policy does not restrict
	// them (any allowed), and [] when it allows none.
	Proxies      []policyItemJSON `json:"proxies"`
	Destinations []policyItemJSON `json:"destinations"`
	Publishers   []publisherJSON  `json:"publishers"`
}

// policyItemJSON is one allowed proxy or destination.
type policyItemJSON struct {
	Entry string   `json:"entry"`
	Pins  []string `json:"pins,omitempty"`
	TLS   bool     `json:"tls,omitempty"` // destinations: end-to-end TLS required
	Where string   `json:"where"`         // FILE:LINE, or a Group Policy value
}

// publisherJSON is one publisher key.
type publisherJSON struct {
	Name  string `json:"name"`
	Alg   string `json:"alg"`
	KeyID string `json:"kid"`
	Where string `json:"where"`
}

func newPolicyJSON(p *policy.Policy) *policyJSON {
	if p == nil {
		return nil
	}
	where := func(src string, line int) string {
		switch {
		case src != "":
			return src
		case line == 0:
			return p.Path
		}
		return fmt.Sprintf("%s:%d", p.Path, line)
	}
	j := &policyJSON{Summary: p.Summary(), RequireSigned: p.RequireSigned, Publishers: []publisherJSON{}}
	if p.RestrictProxies {
		j.Proxies = []policyItemJSON{}
		for _, x := range p.Proxies {
			j.Proxies = append(j.Proxies, policyItemJSON{Entry: x.Entry.String(), Pins: x.Pins, Where: where(x.Src, x.Line)})
		}
	}
	if p.RestrictDestinations {
		j.Destinations = []policyItemJSON{}
		for _, d := range p.Destinations {
			j.Destinations = append(j.Destinations, policyItemJSON{Entry: d.Entry.String(), Pins: d.Pins, TLS: d.TLS, Where: where(d.Src, d.Line)})
		}
	}
	for _, pub := range p.Publishers {
		j.Publishers = append(j.Publishers, publisherJSON{Name: pub.Name, Alg: pub.Alg, KeyID: pub.KeyID, Where: where(pub.Src, pub.Line)})
	}
	return j
}

// wlShowJSON is whitelist show --json.
type wlShowJSON struct {
	jsonHead
	// Mode is "prompt" or "AllowAdminListOnly"; ModeFrom names where it
	// came from when not the admin list's first line.
	Mode        string          `json:"mode"`
	ModeFrom    string          `json:"mode_from,omitempty"`
	AdminList   listJSON        `json:"admin_list"`
	UserList    listJSON        `json:"user_list"`
	AdminPolicy fileJSON        `json:"admin_policy"`
	Policy      *policyJSON     `json:"policy"` // null when there is none, or it is unusable
	GroupPolicy groupPolicyJSON `json:"group_policy"`
}

func wlShowDoc(p *listPaths) wlShowJSON {
	d := wlShowJSON{jsonHead: newHead("whitelist show"), Mode: "prompt"}
	admin := policy.LoadAdmin(p.admin)
	user := whitelist.LoadUser(p.user)
	d.AdminList = newListJSON(&d.jsonHead, admin, severityError)
	// An unusable user list is ignored, not fatal: its servers are asked
	// about.
	d.UserList = newListJSON(&d.jsonHead, user, severityWarning)
	if admin.List != nil {
		if admin.List.AdminOnly {
			d.Mode = whitelist.Keyword
		}
		d.ModeFrom = admin.List.ModeFrom
	}
	src := policy.Load(p.policy)
	d.AdminPolicy = policyFileJSON(&d.jsonHead, p.policy, src)
	if src.Err == nil {
		d.Policy = newPolicyJSON(src.Policy)
	}
	d.GroupPolicy = readGroupPolicyJSON(&d.jsonHead)
	d.OK = admin.Err == nil && src.Err == nil && d.GroupPolicy.State != "unusable"
	return d
}

// wlExplainJSON is whitelist explain --json. The URL is not repeated: its
// query holds the ticket.
type wlExplainJSON struct {
	jsonHead
	// Result is "launch", "prompt" or "refused", as the exit status 0, 10
	// or 3 says.
	Result  string   `json:"result"`
	Step    string   `json:"step"`
	Origin  string   `json:"origin,omitempty"`
	Matched string   `json:"matched,omitempty"` // the entry that admitted it
	Message string   `json:"message,omitempty"`
	Trace   []string `json:"trace"`
}

func wlExplainDoc(d whitelist.Decision, admin, user whitelist.Source) wlExplainJSON {
	j := wlExplainJSON{jsonHead: newHead("whitelist explain"), Step: string(d.Step), Trace: d.Trace}
	if j.Trace == nil {
		j.Trace = []string{}
	}
	newListJSON(&j.jsonHead, admin, severityError) // only for its problems
	newListJSON(&j.jsonHead, user, severityWarning)
	if !d.Origin.IsZero() {
		j.Origin = d.Origin.String()
	}
	if d.Matched != nil {
		j.Matched = d.Matched.String()
	}
	switch {
	case d.Proceed:
		j.Result, j.OK = "launch", true
	case d.Step == whitelist.StepWouldPrompt:
		j.Result, j.OK = "prompt", true
	default:
		j.Result, j.Message = "refused", d.Message
	}
	return j
}

// policyCheckJSON is policy check --json.
type policyCheckJSON struct {
	jsonHead
	File   string      `json:"file"`
	Policy *policyJSON `json:"policy"` // null when the file has problems
}
