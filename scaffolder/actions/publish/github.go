package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v88/github"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// GitHub is publish:github: create the repository through GitHub's REST
// API (github.com or GitHub Enterprise), then push the workspace as its
// first commit. The owner is an organisation or the token's user, as on
// Backstage.
type GitHub struct {
	// Hosts finds the integration for a repoUrl's host; its BaseURL is
	// the REST API root (default https://api.github.com for github.com,
	// https://<host>/api/v3 otherwise).
	Hosts func(host string) (Host, bool)
	// HTTP is the client for API calls (default http.DefaultClient).
	HTTP *http.Client
	// Now stamps commits (default time.Now).
	Now func() time.Time
}

var _ scaffolder.Undoer = GitHub{}

// ID is the action's name in templates.
func (GitHub) ID() string { return "publish:github" }

// Description says what the action does.
func (GitHub) Description() string {
	return "Create a repository on GitHub and push the workspace to it as its first commit"
}

// SupportsDryRun: a dry run reports the URLs it would create.
func (GitHub) SupportsDryRun() bool { return true }

// githubRepo is where a publish:github input points.
type githubRepo struct {
	host, owner, repo string
	cred              Host
}

func (a GitHub) resolve(in publishInput) (githubRepo, error) {
	u, cred, err := hostedRepo(a.ID(), "github", "GitHub", in.RepoURL, a.Hosts)
	if err != nil {
		return githubRepo{}, err
	}
	return githubRepo{host: u.Host, owner: u.Owner, repo: u.Repo, cred: cred}, nil
}

func (a GitHub) client(r githubRepo) (*github.Client, error) {
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	opts := []github.ClientOptionsFunc{github.WithHTTPClient(hc), github.WithAuthToken(r.cred.Token)}
	api := r.cred.BaseURL
	if api == "" && !strings.EqualFold(r.host, "github.com") {
		api = "https://" + r.host + "/api/v3"
	}
	if api != "" {
		base := strings.TrimSuffix(api, "/") + "/"
		opts = append(opts, github.WithURLs(&base, &base))
	}
	c, err := github.NewClient(opts...)
	if err != nil {
		return nil, paved.Errorf(paved.CodeInvalid, "integrations.github %s: apiBaseUrl %q: %v", r.host, api, err)
	}
	return c, nil
}

// Run creates the repository (an existing one is kept: the push decides
// whether it holds the same content) and pushes the workspace.
func (a GitHub) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	in, err := decodePublishInput(a.ID(), call.Input)
	if err != nil {
		return nil, err
	}
	r, err := a.resolve(in)
	if err != nil {
		return nil, err
	}
	if call.DryRun {
		web := "https://" + r.host + "/" + r.owner + "/" + r.repo
		call.Log.Info(fmt.Sprintf("publish:github would create %s/%s on %s and push the workspace to %s", r.owner, r.repo, r.host, in.DefaultBranch))
		return map[string]any{"remoteUrl": web + ".git", "repoContentsUrl": web + "/blob/" + in.DefaultBranch}, nil
	}
	c, err := a.client(r)
	if err != nil {
		return nil, err
	}
	repo, created, err := a.createRepo(ctx, c, r, in)
	if err != nil {
		return nil, err
	}
	to := destination{RemoteURL: repo.GetCloneURL(), Username: cmp.Or(r.cred.Username, "x-access-token"), Token: r.cred.Token}
	if created {
		to.Delete = func(ctx context.Context) { _, _ = c.Repositories.Delete(ctx, r.owner, r.repo) }
	}
	res, err := pushWorkspace(ctx, call, in, to, a.Now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"remoteUrl": repo.GetCloneURL(), "repoContentsUrl": repo.GetHTMLURL() + "/blob/" + in.DefaultBranch,
		"commitHash": res.CommitHash, "created": created}, nil
}

// createRepo creates owner/repo, in the organisation or for the token's
// user as GET /users/{owner} says (Backstage's choice); an existing
// repository is returned with created false.
func (a GitHub) createRepo(ctx context.Context, c *github.Client, r githubRepo, in publishInput) (*github.Repository, bool, error) {
	owner, _, err := c.Users.Get(ctx, r.owner)
	if err != nil {
		return nil, false, githubError(err, "look up the owner "+r.owner)
	}
	org := ""
	if owner.GetType() == "Organization" {
		org = r.owner
	}
	spec := &github.Repository{Name: github.Ptr(r.repo), Description: github.Ptr(in.Description), Private: github.Ptr(in.RepoVisibility != "public")}
	if org != "" {
		spec.Visibility = github.Ptr(in.RepoVisibility)
	}
	repo, _, err := c.Repositories.Create(ctx, org, spec)
	if err == nil {
		return repo, true, nil
	}
	if alreadyExists(err) {
		repo, _, err = c.Repositories.Get(ctx, r.owner, r.repo)
		if err != nil {
			return nil, false, githubError(err, "read the existing "+r.owner+"/"+r.repo)
		}
		return repo, false, nil
	}
	return nil, false, githubError(err, "create "+r.owner+"/"+r.repo)
}

// alreadyExists is GitHub's 422 for a name that is taken.
func alreadyExists(err error) bool {
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response == nil || ge.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range ge.Errors {
		if e.Field == "name" && strings.Contains(e.Message, "already exists") {
			return true
		}
	}
	return false
}

// githubError classifies a REST failure, keeping GitHub's message.
func githubError(err error, what string) error {
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		code := paved.CodeUnavailable
		switch ge.Response.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			code = paved.CodeForbidden
		case http.StatusNotFound:
			code = paved.CodeUnprocessable
		case http.StatusUnprocessableEntity:
			code = paved.CodeUnprocessable
		}
		return paved.Errorf(code, "publish:github: %s: GitHub answered %d: %s", what, ge.Response.StatusCode, ge.Message)
	}
	return paved.Errorf(paved.CodeUnavailable, "publish:github: %s: %v", what, err)
}

// Undo deletes the repository if this step created it.
func (a GitHub) Undo(ctx context.Context, call *scaffolder.Call, output map[string]any) error {
	return undoCreated(a.ID(), call, output, func(in publishInput) error {
		r, err := a.resolve(in)
		if err != nil {
			return err
		}
		c, err := a.client(r)
		if err != nil {
			return err
		}
		if resp, err := c.Repositories.Delete(ctx, r.owner, r.repo); err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
			return githubError(err, "delete "+r.owner+"/"+r.repo)
		}
		return nil
	})
}

// Schema describes the input and output.
func (GitHub) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"repoUrl"}, commitProps(map[string]any{
		"repoUrl":        scaffolder.Prop("string", "github.com?owner=OWNER&repo=REPO (an organisation or the token's user)"),
		"description":    scaffolder.Prop("string", "the repository's description"),
		"repoVisibility": scaffolder.Prop("string", "private (default), internal (organisations) or public"),
	})), Output: scaffolder.Object(nil, map[string]any{
		"remoteUrl":       scaffolder.Prop("string", "the repository's clone URL"),
		"repoContentsUrl": scaffolder.Prop("string", "the web URL of the default branch's files"),
		"commitHash":      scaffolder.Prop("string", "the pushed commit"),
		"created":         scaffolder.Prop("boolean", "Paved's: whether this step created the repository (undo deletes only that)"),
	})}
}
