// Package publish is the scaffolder's publish actions: create a
// repository on a git host through its REST API, then commit the
// workspace and push it with go-git. A repository that already holds the
// same tree is success (a retried task); one with other content is an
// error.
package publish

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
	"github.com/paved-dev/paved/scaffolder/render"
)

// commitSpec is what goes into the initial commit.
type commitSpec struct {
	Dir           string // the directory to publish (the workspace or its sourcePath)
	Branch        string
	Message       string
	Name, Email   string
	RemoteURL     string
	Username      string
	Token         string
	AuthorTimeNow func() time.Time
}

// pushResult is what pushing found or did.
type pushResult struct {
	CommitHash string
	// Existing is set when the remote branch already held the same tree,
	// so nothing was pushed.
	Existing bool
}

// commitAndPush commits every file of spec.Dir in a repository kept in
// memory (no .git is written into the workspace) and pushes it as the
// remote's branch. If the branch exists with the same tree, that commit
// is the result; with another tree, an error.
func commitAndPush(ctx context.Context, spec commitSpec) (pushResult, error) {
	wt := osfs.New(spec.Dir, osfs.WithBoundOS())
	repo, err := git.Init(memory.NewStorage(), wt)
	if err != nil {
		return pushResult{}, err
	}
	if err := repo.CreateBranch(&config.Branch{Name: spec.Branch}); err != nil {
		return pushResult{}, err
	}
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(spec.Branch))
	if err := repo.Storer.SetReference(head); err != nil {
		return pushResult{}, err
	}
	tree, err := repo.Worktree()
	if err != nil {
		return pushResult{}, err
	}
	if err := tree.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return pushResult{}, fmt.Errorf("stage the workspace: %w", err)
	}
	sig := &object.Signature{Name: spec.Name, Email: spec.Email, When: spec.AuthorTimeNow()}
	hash, err := tree.Commit(spec.Message, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		return pushResult{}, fmt.Errorf("commit the workspace: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{spec.RemoteURL}}); err != nil {
		return pushResult{}, err
	}
	auth := &githttp.BasicAuth{Username: spec.Username, Password: spec.Token}
	if existing, same, err := remoteBranch(ctx, repo, spec, auth, hash); err != nil || existing != "" {
		if err != nil {
			return pushResult{}, err
		}
		if !same {
			return pushResult{}, paved.Errorf(paved.CodeConflict, "%s already has a %s branch with other content; choose another repository or empty it", redact(spec.RemoteURL), spec.Branch)
		}
		return pushResult{CommitHash: existing, Existing: true}, nil
	}
	ref := config.RefSpec(fmt.Sprintf("refs/heads/%[1]s:refs/heads/%[1]s", spec.Branch))
	err = repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{ref}, Auth: auth})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return pushResult{}, paved.Errorf(paved.CodeUnavailable, "push to %s: %v", redact(spec.RemoteURL), err)
	}
	return pushResult{CommitHash: hash.String()}, nil
}

// remoteBranch fetches the remote's branch, if it has one, and reports
// its commit and whether its tree is the one just committed.
func remoteBranch(ctx context.Context, repo *git.Repository, spec commitSpec, auth transport.AuthMethod, local plumbing.Hash) (string, bool, error) {
	remoteRef := plumbing.NewRemoteReferenceName("origin", spec.Branch)
	err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Depth: 1,
		RefSpecs: []config.RefSpec{config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", spec.Branch, remoteRef))}})
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository), isNoMatchingRef(err):
		return "", false, nil
	case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
		return "", false, paved.Errorf(paved.CodeUnavailable, "read %s: %v", redact(spec.RemoteURL), err)
	}
	ref, err := repo.Reference(remoteRef, true)
	if err != nil {
		return "", false, nil
	}
	theirs, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return "", false, err
	}
	ours, err := repo.CommitObject(local)
	if err != nil {
		return "", false, err
	}
	return theirs.Hash.String(), theirs.TreeHash == ours.TreeHash, nil
}

func isNoMatchingRef(err error) bool {
	var nm git.NoMatchingRefSpecError
	return errors.As(err, &nm)
}

// userInfo matches the user info of a URL.
var userInfo = regexp.MustCompile(`^([a-z][a-z0-9+.-]*://)[^/@]*@`)

// redact drops user info from a URL for messages.
func redact(u string) string {
	return userInfo.ReplaceAllString(u, "$1")
}

// destination is where a publish action pushes: the remote and its
// credentials, and, when the step created the repository, how to delete
// it again.
type destination struct {
	RemoteURL, Username, Token string
	// Delete removes a repository this step created; nil when it existed.
	Delete func(context.Context)
}

// pushWorkspace pushes the step's sourcePath as the first commit of the
// destination. A push that fails deletes a repository the step created,
// leaving no empty repository behind.
func pushWorkspace(ctx context.Context, call *scaffolder.Call, in publishInput, to destination, now func() time.Time) (pushResult, error) {
	dir, err := sourceDir(call, in.SourcePath)
	if err != nil {
		return pushResult{}, err
	}
	if now == nil {
		now = time.Now
	}
	res, err := commitAndPush(ctx, commitSpec{Dir: dir, Branch: in.DefaultBranch, Message: in.CommitMessage, Name: in.AuthorName,
		Email: in.AuthorEmail, RemoteURL: to.RemoteURL, Username: to.Username, Token: to.Token, AuthorTimeNow: now})
	if err != nil && to.Delete != nil {
		to.Delete(context.WithoutCancel(ctx))
	}
	return res, err
}

// hostedRepo reads a publish action's repoUrl (host?owner=O&repo=R) and
// finds the integration of its host; provider names the host type
// (gitea, github, gitlab) and its integrations key.
func hostedRepo(action, provider, title string, repoURL string, hosts func(string) (Host, bool)) (render.RepoURL, Host, error) {
	u, err := (&render.Engine{HostType: func(string) (string, bool) { return provider, true }}).ParseRepoURL(repoURL)
	if err != nil {
		return render.RepoURL{}, Host{}, paved.Invalid("invalid "+action+" input", paved.Detail{Field: "input.repoUrl", Reason: err.Error()})
	}
	host, ok := hosts(u.Host)
	if !ok {
		return render.RepoURL{}, Host{}, paved.Invalid("invalid "+action+" input", paved.Detail{Field: "input.repoUrl",
			Reason: fmt.Sprintf("no %s integration for %s; add it under integrations.%s in the configuration", title, u.Host, provider)})
	}
	return u, host, nil
}

// undoCreated calls del with the step's input when its output says the
// step created the repository; one that existed before is left alone.
func undoCreated(action string, call *scaffolder.Call, output map[string]any, del func(publishInput) error) error {
	if created, _ := output["created"].(bool); !created {
		return nil
	}
	in, err := decodePublishInput(action, call.Input)
	if err != nil {
		return err
	}
	return del(in)
}
