package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// Every outbound fetch of the catalog (raw files over HTTP, git clones)
// goes through one HTTP client that takes its rules from the request's
// context: the dialer refuses private addresses after DNS resolution (so a
// host name cannot rebind to 127.0.0.1), redirects are followed at most
// maxRedirects times and only to allowed hosts, and response bodies are
// capped.
const (
	maxRedirects = 5
	// maxResponseBytes caps any one response, a git pack included: a
	// catalog repository is small, and a clone is held in memory.
	maxResponseBytes = 256 << 20
)

type policyKey struct{}

// withPolicy returns ctx carrying the policy fetches made with it obey.
func withPolicy(ctx context.Context, p *Policy) context.Context {
	return context.WithValue(ctx, policyKey{}, p)
}

// Context returns ctx carrying p, so Paved's git traffic under ctx (go-git
// over HTTP(S) goes through the catalog's client, process-wide) dials
// only the networks p allows: a scaffolder task pushing to an internal
// git host runs under it.
func (p *Policy) Context(ctx context.Context) context.Context { return withPolicy(ctx, p) }

// policyFrom is the context's policy; without one, the zero Policy (no
// private address, no host).
func policyFrom(ctx context.Context) *Policy {
	if p, ok := ctx.Value(policyKey{}).(*Policy); ok && p != nil {
		return p
	}
	return &Policy{}
}

// safeClient is the catalog's one HTTP client.
var safeClient = &http.Client{
	Transport: cappedTransport{&http.Transport{
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
			ControlContext: controlDial}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}},
	CheckRedirect: checkRedirect,
}

// controlDial runs for each address a dial tries, after name resolution.
func controlDial(ctx context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	return policyFrom(ctx).AddrAllowed(ap.Addr())
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if err := policyFrom(req.Context()).checkURL(req.URL); err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		// Go drops Authorization across hosts; GitLab's token header too.
		req.Header.Del("Authorization")
		req.Header.Del("PRIVATE-TOKEN")
	}
	return nil
}

// cappedTransport makes every response body fail past maxResponseBytes.
type cappedTransport struct{ http.RoundTripper }

func (t cappedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(r)
	if err == nil {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxResponseBytes}
	}
	return resp, err
}

type cappedBody struct {
	io.ReadCloser
	left int64
}

var errResponseTooLarge = fmt.Errorf("response larger than %d bytes", maxResponseBytes)

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errResponseTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

var installGit sync.Once

// useSafeClientForGit makes go-git's http and https transports use
// safeClient. go-git looks transports up in a process-wide table; the
// rules still come from each clone's context.
func useSafeClientForGit() {
	installGit.Do(func() {
		t := githttp.NewClient(safeClient)
		client.InstallProtocol("http", t)
		client.InstallProtocol("https", t)
	})
}

// isNotAllowed reports whether err is a refusal by the reading rules.
func isNotAllowed(err error) bool { return errors.Is(err, errNotAllowed) }
