package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// GitLab is publish:gitlab: create the project through GitLab's REST API
// in the owner's namespace (a group, subgroup or user), then push the
// workspace as its first commit.
type GitLab struct {
	// Hosts finds the integration for a repoUrl's host; its BaseURL is
	// the REST API root (default https://<host>/api/v4).
	Hosts func(host string) (Host, bool)
	// HTTP is the client for API calls (default http.DefaultClient).
	HTTP *http.Client
	// Now stamps commits (default time.Now).
	Now func() time.Time
}

var _ scaffolder.Undoer = GitLab{}

// ID is the action's name in templates.
func (GitLab) ID() string { return "publish:gitlab" }

// Description says what the action does.
func (GitLab) Description() string {
	return "Create a project on GitLab and push the workspace to it as its first commit"
}

// SupportsDryRun: a dry run reports the URLs it would create.
func (GitLab) SupportsDryRun() bool { return true }

// gitlabRepo is where a publish:gitlab input points.
type gitlabRepo struct {
	host, owner, repo string
	cred              Host
}

func (r gitlabRepo) path() string { return r.owner + "/" + r.repo }

func (a GitLab) resolve(in publishInput) (gitlabRepo, error) {
	u, cred, err := hostedRepo(a.ID(), "gitlab", "GitLab", in.RepoURL, a.Hosts)
	if err != nil {
		return gitlabRepo{}, err
	}
	if u.Owner == "" || u.Repo == "" { // a repoUrl with project= only names no namespace to create in
		return gitlabRepo{}, paved.Invalid("invalid publish:gitlab input", paved.Detail{Field: "input.repoUrl",
			Reason: fmt.Sprintf("invalid repo URL %q: want host?owner=GROUP&repo=PROJECT", in.RepoURL)})
	}
	return gitlabRepo{host: u.Host, owner: u.Owner, repo: u.Repo, cred: cred}, nil
}

func (a GitLab) client(r gitlabRepo) (*gitlab.Client, error) {
	hc := a.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	api := r.cred.BaseURL
	if api == "" {
		api = "https://" + r.host + "/api/v4"
	}
	c, err := gitlab.NewClient(r.cred.Token, gitlab.WithBaseURL(api), gitlab.WithHTTPClient(hc))
	if err != nil {
		return nil, paved.Errorf(paved.CodeInvalid, "integrations.gitlab %s: apiBaseUrl %q: %v", r.host, api, err)
	}
	return c, nil
}

// Run creates the project (an existing one is kept: the push decides)
// and pushes the workspace.
func (a GitLab) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	in, err := decodePublishInput(a.ID(), call.Input)
	if err != nil {
		return nil, err
	}
	r, err := a.resolve(in)
	if err != nil {
		return nil, err
	}
	if call.DryRun {
		web := "https://" + r.host + "/" + r.path()
		call.Log.Info(fmt.Sprintf("publish:gitlab would create %s on %s and push the workspace to %s", r.path(), r.host, in.DefaultBranch))
		return map[string]any{"remoteUrl": web + ".git", "repoContentsUrl": web + "/-/blob/" + in.DefaultBranch}, nil
	}
	c, err := a.client(r)
	if err != nil {
		return nil, err
	}
	project, created, err := a.createProject(ctx, c, r, in)
	if err != nil {
		return nil, err
	}
	to := destination{RemoteURL: project.HTTPURLToRepo, Username: cmp.Or(r.cred.Username, "oauth2"), Token: r.cred.Token}
	if created {
		to.Delete = func(ctx context.Context) { _, _ = c.Projects.DeleteProject(project.ID, nil, gitlab.WithContext(ctx)) }
	}
	res, err := pushWorkspace(ctx, call, in, to, a.Now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"remoteUrl": project.HTTPURLToRepo, "repoContentsUrl": project.WebURL + "/-/blob/" + in.DefaultBranch,
		"projectId": project.ID, "commitHash": res.CommitHash, "created": created}, nil
}

// createProject creates the project in the owner's namespace; an
// existing one (GitLab's 400 "has already been taken") is returned with
// created false.
func (a GitLab) createProject(ctx context.Context, c *gitlab.Client, r gitlabRepo, in publishInput) (*gitlab.Project, bool, error) {
	ns, _, err := c.Namespaces.GetNamespace(r.owner, gitlab.WithContext(ctx))
	if err != nil {
		return nil, false, gitlabError(err, "look up the namespace "+r.owner)
	}
	opt := &gitlab.CreateProjectOptions{Name: gitlab.Ptr(r.repo), Path: gitlab.Ptr(r.repo), NamespaceID: gitlab.Ptr(ns.ID),
		Description: gitlab.Ptr(in.Description), Visibility: gitlab.Ptr(gitlab.VisibilityValue(in.RepoVisibility)),
		DefaultBranch: gitlab.Ptr(in.DefaultBranch)}
	project, _, err := c.Projects.CreateProject(opt, gitlab.WithContext(ctx))
	if err == nil {
		return project, true, nil
	}
	var ge *gitlab.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusBadRequest && strings.Contains(ge.Message, "has already been taken") {
		project, _, err = c.Projects.GetProject(r.path(), nil, gitlab.WithContext(ctx))
		if err != nil {
			return nil, false, gitlabError(err, "read the existing "+r.path())
		}
		return project, false, nil
	}
	return nil, false, gitlabError(err, "create "+r.path())
}

// gitlabError classifies a REST failure, keeping GitLab's message.
func gitlabError(err error, what string) error {
	var ge *gitlab.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil {
		code := paved.CodeUnavailable
		switch ge.Response.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			code = paved.CodeForbidden
		case http.StatusNotFound, http.StatusBadRequest:
			code = paved.CodeUnprocessable
		}
		return paved.Errorf(code, "publish:gitlab: %s: GitLab answered %d: %s", what, ge.Response.StatusCode, ge.Message)
	}
	return paved.Errorf(paved.CodeUnavailable, "publish:gitlab: %s: %v", what, err)
}

// Undo deletes the project if this step created it.
func (a GitLab) Undo(ctx context.Context, call *scaffolder.Call, output map[string]any) error {
	return undoCreated(a.ID(), call, output, func(in publishInput) error {
		r, err := a.resolve(in)
		if err != nil {
			return err
		}
		c, err := a.client(r)
		if err != nil {
			return err
		}
		if resp, err := c.Projects.DeleteProject(r.path(), nil, gitlab.WithContext(ctx)); err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
			return gitlabError(err, "delete "+r.path())
		}
		return nil
	})
}

// Schema describes the input and output.
func (GitLab) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"repoUrl"}, commitProps(map[string]any{
		"repoUrl":        scaffolder.Prop("string", "gitlab.com?owner=GROUP[/SUBGROUP]&repo=PROJECT"),
		"description":    scaffolder.Prop("string", "the project's description"),
		"repoVisibility": scaffolder.Prop("string", "private (default), internal or public"),
	})), Output: scaffolder.Object(nil, map[string]any{
		"remoteUrl":       scaffolder.Prop("string", "the project's clone URL"),
		"repoContentsUrl": scaffolder.Prop("string", "the web URL of the default branch's files"),
		"projectId":       scaffolder.Prop("integer", "the project's id"),
		"commitHash":      scaffolder.Prop("string", "the pushed commit"),
		"created":         scaffolder.Prop("boolean", "Paved's: whether this step created the project (undo deletes only that)"),
	})}
}
