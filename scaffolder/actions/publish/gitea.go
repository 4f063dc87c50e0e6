package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"code.gitea.io/sdk/gitea"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// Host is how Paved reaches a git host: its integration settings.
type Host struct {
	// BaseURL is the host's web and API root, e.g. https://gitea.example.com.
	BaseURL string
	// Username and Token authenticate API calls and pushes.
	Username, Token string
}

// Gitea is publish:gitea. Unlike Backstage's, which only creates
// repositories of organisations, the owner may be an organisation or the
// token's own user.
type Gitea struct {
	// Hosts finds the integration for a repoUrl's host.
	Hosts func(host string) (Host, bool)
	// HTTP is the client for API calls (default http.DefaultClient).
	HTTP *http.Client
	// Now stamps commits (default time.Now).
	Now func() time.Time
}

var _ scaffolder.Undoer = Gitea{}

// ID is the action's name in templates.
func (Gitea) ID() string { return "publish:gitea" }

// SupportsDryRun: a dry run reports the URLs it would create.
func (Gitea) SupportsDryRun() bool { return true }

// Description says what the action does.
func (Gitea) Description() string {
	return "Create a repository on Gitea and push the workspace to it as its first commit"
}

// publishInput is the input publish actions share, Backstage's names.
type publishInput struct {
	RepoURL, Description, DefaultBranch, RepoVisibility, SourcePath string
	CommitMessage, AuthorName, AuthorEmail                          string
}

// decodePublishInput reads a publish action's input, repoUrl required.
func decodePublishInput(action string, in map[string]any) (publishInput, error) {
	var d paved.Details
	p := decodeCommitInput(in, &d)
	p.RepoURL = stringInput(in, "repoUrl", "", &d)
	if p.RepoURL == "" {
		d.Add("input.repoUrl", "is required (host?owner=OWNER&repo=REPO)")
	}
	return p, d.Err("invalid " + action + " input")
}

// decodeCommitInput reads what every publish action shares: the branch,
// the directory and the commit.
func decodeCommitInput(in map[string]any, d *paved.Details) publishInput {
	p := publishInput{Description: stringInput(in, "description", "", d), DefaultBranch: stringInput(in, "defaultBranch", "main", d),
		RepoVisibility: stringInput(in, "repoVisibility", "private", d), SourcePath: stringInput(in, "sourcePath", ".", d),
		CommitMessage: stringInput(in, "gitCommitMessage", "initial commit", d), AuthorName: stringInput(in, "gitAuthorName", "Scaffolder", d),
		AuthorEmail: stringInput(in, "gitAuthorEmail", "scaffolder@paved.invalid", d)}
	switch p.RepoVisibility {
	case "private", "public", "internal":
	default:
		d.Add("input.repoVisibility", "is %q; want private, internal or public", p.RepoVisibility)
	}
	return p
}

// stringInput is input[key] as a string, def when absent or empty.
func stringInput(in map[string]any, key, def string, d *paved.Details) string {
	v, ok := in[key]
	if !ok || v == nil {
		return def
	}
	s, ok := v.(string)
	if !ok {
		d.Add("input."+key, "must be a string")
	}
	if s == "" {
		return def
	}
	return s
}

// Run creates the repository and pushes the workspace (or its
// sourcePath). A dry run says what it would create and touches nothing.
func (a Gitea) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	in, err := decodePublishInput(a.ID(), call.Input)
	if err != nil {
		return nil, err
	}
	r, err := a.resolve(in)
	if err != nil {
		return nil, err
	}
	base, owner, repo, host := r.base, r.owner, r.repo, r.host
	out := map[string]any{
		"remoteUrl":       base + "/" + owner + "/" + repo + ".git",
		"repoContentsUrl": base + "/" + owner + "/" + repo + "/src/branch/" + in.DefaultBranch + "/",
	}
	if call.DryRun {
		call.Log.Info(fmt.Sprintf("publish:gitea would create %s/%s on %s and push the workspace to %s", owner, repo, base, in.DefaultBranch))
		return out, nil
	}
	client, err := a.client(ctx, base, host.Token)
	if err != nil {
		return nil, err
	}
	created, err := a.createRepo(client, owner, repo, host.Username, in)
	if err != nil {
		return nil, err
	}
	to := destination{RemoteURL: out["remoteUrl"].(string), Username: host.Username, Token: host.Token}
	if created {
		to.Delete = func(context.Context) { _, _ = client.DeleteRepo(owner, repo) }
	}
	res, err := pushWorkspace(ctx, call, in, to, a.Now)
	if err != nil {
		return nil, err
	}
	out["commitHash"] = res.CommitHash
	out["created"] = created // Paved's: whether undo may delete it
	return out, nil
}

// Undo deletes the repository if this step created it.
func (a Gitea) Undo(ctx context.Context, call *scaffolder.Call, output map[string]any) error {
	return undoCreated(a.ID(), call, output, func(in publishInput) error {
		r, err := a.resolve(in)
		if err != nil {
			return err
		}
		client, err := a.client(ctx, r.base, r.host.Token)
		if err != nil {
			return err
		}
		if resp, err := client.DeleteRepo(r.owner, r.repo); err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
			return paved.Errorf(paved.CodeUnavailable, "undo publish:gitea: delete %s/%s: %v", r.owner, r.repo, err)
		}
		return nil
	})
}

// giteaRepo is where a publish:gitea input points.
type giteaRepo struct {
	base, owner, repo string
	host              Host
}

// resolve finds the repository and the integration of its host; the
// owner defaults to the token's user.
func (a Gitea) resolve(in publishInput) (giteaRepo, error) {
	u, host, err := hostedRepo(a.ID(), "gitea", "Gitea", in.RepoURL, a.Hosts)
	if err != nil {
		return giteaRepo{}, err
	}
	owner := u.Owner
	if owner == "" {
		owner = host.Username
	}
	return giteaRepo{base: strings.TrimSuffix(host.BaseURL, "/"), owner: owner, repo: u.Repo, host: host}, nil
}

func (a Gitea) client(ctx context.Context, base, token string) (*gitea.Client, error) {
	httpClient := a.HTTP
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	c, err := gitea.NewClient(base, gitea.SetToken(token), gitea.SetContext(ctx), gitea.SetHTTPClient(httpClient))
	if err != nil && errors.Is(err, &gitea.ErrUnknownVersion{}) && c != nil {
		err = nil // a development build of Gitea: its API is the current one
	}
	if err != nil {
		return nil, paved.Errorf(paved.CodeUnavailable, "reach Gitea at %s: %v", base, err)
	}
	return c, nil
}

// createRepo creates owner/name, for the token's user or an organisation.
// It reports false when the repository already exists (a retried step:
// the push then decides whether its content is the same).
func (a Gitea) createRepo(c *gitea.Client, owner, name, user string, in publishInput) (bool, error) {
	opt := gitea.CreateRepoOption{Name: name, Description: in.Description, Private: in.RepoVisibility != "public", DefaultBranch: in.DefaultBranch}
	var resp *gitea.Response
	var err error
	if strings.EqualFold(owner, user) {
		_, resp, err = c.CreateRepo(opt)
	} else {
		_, resp, err = c.CreateOrgRepo(owner, opt)
	}
	switch {
	case err == nil:
		return true, nil
	case resp != nil && resp.StatusCode == http.StatusConflict:
		return false, nil
	case resp != nil && resp.StatusCode == http.StatusNotFound:
		return false, paved.Invalid("invalid publish:gitea input", paved.Detail{Field: "input.repoUrl", Reason: fmt.Sprintf("no user or organisation %q on Gitea", owner)})
	case resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
		return false, paved.Errorf(paved.CodeForbidden, "Gitea refused to create %s/%s: %v", owner, name, err)
	}
	return false, paved.Errorf(paved.CodeUnavailable, "create %s/%s on Gitea: %v", owner, name, err)
}

// sourceDir is the directory to publish: sourcePath inside the workspace.
func sourceDir(call *scaffolder.Call, sourcePath string) (string, error) {
	if call.Workspace == nil {
		return "", errors.New("publish: the task has no workspace")
	}
	p := path.Clean(strings.TrimPrefix(sourcePath, "./"))
	if p != "." && !fs.ValidPath(p) {
		return "", paved.Invalid("invalid publish input", paved.Detail{Field: "input.sourcePath", Reason: "must be a path inside the workspace"})
	}
	if _, err := call.Workspace.Stat(p); err != nil {
		return "", paved.Invalid("invalid publish input", paved.Detail{Field: "input.sourcePath", Reason: "no such directory in the workspace"})
	}
	return path.Join(call.Workspace.Name(), p), nil
}

// Schema describes the input and output.
func (Gitea) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"repoUrl"}, commitProps(map[string]any{
		"repoUrl":        scaffolder.Prop("string", "host?owner=OWNER&repo=REPO (owner defaults to the integration's user)"),
		"description":    scaffolder.Prop("string", "the repository's description"),
		"repoVisibility": scaffolder.Prop("string", "private (default), internal or public"),
	})), Output: scaffolder.Object(nil, map[string]any{
		"remoteUrl":       scaffolder.Prop("string", "the repository's clone URL"),
		"repoContentsUrl": scaffolder.Prop("string", "the web URL of the default branch's files"),
		"commitHash":      scaffolder.Prop("string", "the pushed commit"),
		"created":         scaffolder.Prop("boolean", "Paved's: whether this step created the repository (undo deletes only that)"),
	})}
}
