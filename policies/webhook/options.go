// Package webhook deploys Paved's admission webhook: the TLS certificate
// of its listener (configured, or issued by a CA Paved keeps in its data
// directory) and the ValidatingWebhookConfiguration that points the
// Kubernetes API server at it. The handler itself is portal's.
package webhook

import (
	"fmt"
	"net"
	"net/url"

	"github.com/paved-dev/paved"
)

// Options are the webhook-* settings.
type Options struct {
	// Listen is the TLS listener's host:port; empty turns the webhook off.
	Listen string
	// CertFile and KeyFile are the listener's certificate; both empty
	// means a certificate issued by Paved's CA.
	CertFile, KeyFile string
	// URL is what the API server calls; empty means
	// https://<Listen>/admission/validate.
	URL string
	// FailurePolicy is Fail or Ignore: what the API server and Paved do
	// when a review cannot be decided.
	FailurePolicy string
}

// Validate checks the options. Details name the settings
// (webhook-failure-policy), as flags and the config file spell them.
func (o Options) Validate() error {
	var d paved.Details
	if o.FailurePolicy != "Fail" && o.FailurePolicy != "Ignore" {
		d.Add("webhook-failure-policy", "%q is not Fail or Ignore", o.FailurePolicy)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		d.Add("webhook-cert-file", "give both webhook-cert-file and webhook-key-file, or neither")
	}
	if o.URL != "" {
		if u, err := url.Parse(o.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			d.Add("webhook-url", "%q is not an https:// URL (the API server only calls webhooks over TLS)", o.URL)
		}
	}
	return d.Err("invalid webhook settings")
}

// FailOpen reports whether an undecided review is admitted.
func (o Options) FailOpen() bool { return o.FailurePolicy != "Fail" }

// AdmissionURL is the URL the API server calls: URL, or the listener's
// address.
func (o Options) AdmissionURL() string {
	if o.URL != "" {
		return o.URL
	}
	host, port, _ := net.SplitHostPort(o.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("https://%s/admission/validate", net.JoinHostPort(host, port))
}
