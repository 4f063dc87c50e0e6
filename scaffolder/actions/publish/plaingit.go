package publish

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// Git is publish:git, Paved's: push the workspace as the first commit of
// an existing, empty repository on any git host, for hosts without a
// create-repository API. Like the other publish actions, a branch that
// already holds the same tree is success and other content a conflict.
type Git struct {
	// Hosts finds the credentials for the remote's host (integrations.git).
	Hosts func(host string) (Host, bool)
	// Now stamps commits (default time.Now).
	Now func() time.Time
}

// ID is the action's name in templates.
func (Git) ID() string { return "publish:git" }

// Description says what the action does.
func (Git) Description() string {
	return "Push the workspace as the first commit of an existing empty git repository"
}

// SupportsDryRun: a dry run reports the URL it would push to.
func (Git) SupportsDryRun() bool { return true }

// Run pushes the workspace (or its sourcePath) to input.remoteUrl.
// Output: remoteUrl and commitHash.
func (a Git) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	remote, _ := call.Input["remoteUrl"].(string)
	u, err := url.Parse(remote)
	if remote == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, paved.Invalid("invalid publish:git input", paved.Detail{Field: "input.remoteUrl", Reason: "want the http(s) clone URL of an existing repository"})
	}
	if u.User != nil {
		return nil, paved.Invalid("invalid publish:git input", paved.Detail{Field: "input.remoteUrl", Reason: "credentials come from integrations.git, not the URL"})
	}
	var d paved.Details
	in := decodeCommitInput(call.Input, &d)
	if err := d.Err("invalid publish:git input"); err != nil {
		return nil, err
	}
	out := map[string]any{"remoteUrl": remote}
	if call.DryRun {
		call.Log.Info(fmt.Sprintf("publish:git would push the workspace to %s (%s)", remote, in.DefaultBranch))
		return out, nil
	}
	host, ok := a.Hosts(u.Host)
	if !ok {
		return nil, paved.Invalid("invalid publish:git input", paved.Detail{Field: "input.remoteUrl",
			Reason: fmt.Sprintf("no git integration for %s; add it under integrations.git in the configuration", u.Host)})
	}
	res, err := pushWorkspace(ctx, call, in, destination{RemoteURL: remote, Username: host.Username, Token: host.Token}, a.Now)
	if err != nil {
		return nil, err
	}
	out["commitHash"] = res.CommitHash
	return out, nil
}

// commitProps are the inputs every publish action shares.
func commitProps(props map[string]any) map[string]any {
	for k, v := range map[string]any{
		"defaultBranch":    scaffolder.Prop("string", "branch to push (default main)"),
		"sourcePath":       scaffolder.Prop("string", "directory of the workspace to push (default: all of it)"),
		"gitCommitMessage": scaffolder.Prop("string", "message of the first commit (default: initial commit)"),
		"gitAuthorName":    scaffolder.Prop("string", "author of the commit (default Scaffolder)"),
		"gitAuthorEmail":   scaffolder.Prop("string", "author's email"),
	} {
		props[k] = v
	}
	return props
}

// Schema describes the input and output.
func (Git) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"remoteUrl"}, commitProps(map[string]any{
		"remoteUrl": scaffolder.Prop("string", "http(s) clone URL of an existing, empty repository; credentials from integrations.git"),
	})), Output: scaffolder.Object(nil, map[string]any{
		"remoteUrl":  scaffolder.Prop("string", "the repository's clone URL"),
		"commitHash": scaffolder.Prop("string", "the pushed commit"),
	})}
}
