package webhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/paved-dev/paved"
)

// CA file names in the data directory. The CA is kept across restarts so
// the caBundle of a registered webhook stays valid; the serving
// certificate is issued anew at each start.
const (
	webhookCAFile    = "webhook-ca.pem"
	webhookCAKeyFile = "webhook-ca-key.pem"
)

// TLS returns the admission listener's TLS configuration: the configured
// certificate, or one issued by Paved's own CA in dataDir (whose bundle
// CABundle returns).
func TLS(o Options, dataDir string) (*tls.Config, error) {
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, paved.Invalid("cannot load the webhook certificate", paved.Detail{Field: "webhook-cert-file", Reason: err.Error()})
		}
		return serverTLS(cert), nil
	}
	ca, _, err := loadOrCreateCA(dataDir)
	if err != nil {
		return nil, err
	}
	cert, err := issueServing(ca, hosts(o))
	if err != nil {
		return nil, err
	}
	return serverTLS(cert), nil
}

// CABundle returns the caBundle for the webhook configuration: the
// configured certificate, or Paved's CA in dataDir, created if it does not
// exist yet.
func CABundle(o Options, dataDir string) ([]byte, error) {
	if o.CertFile != "" {
		return os.ReadFile(o.CertFile)
	}
	_, caPEM, err := loadOrCreateCA(dataDir)
	return caPEM, err
}

func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// hosts are the names the serving certificate is valid for.
func hosts(o Options) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if u, err := url.Parse(o.AdmissionURL()); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	if h, _, err := net.SplitHostPort(o.Listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		hosts = append(hosts, h)
	}
	return hosts
}

type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// loadOrCreateCA reads the CA from dir, or creates it (key readable by the
// owner only).
func loadOrCreateCA(dir string) (*certAuthority, []byte, error) {
	certPath, keyPath := filepath.Join(dir, webhookCAFile), filepath.Join(dir, webhookCAKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if certErr == nil && keyErr == nil {
		ca, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, nil, paved.Errorf(paved.CodeInvalid, "webhook CA in %s cannot be used (delete both files to create a new one): %w", dir, err)
		}
		return ca, certPEM, nil
	}
	if !errors.Is(certErr, os.ErrNotExist) || !errors.Is(keyErr, os.ErrNotExist) {
		return nil, nil, paved.Errorf(paved.CodeInvalid, "webhook CA in %s is incomplete: %s and %s must both exist or both be absent", dir, webhookCAFile, webhookCAKeyFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Paved admission webhook CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, nil, err
	}
	ca, err := parseCA(certPEM, keyPEM)
	return ca, certPEM, err
}

func parseCA(certPEM, keyPEM []byte) (*certAuthority, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return &certAuthority{cert: cert, key: key}, nil
}

// issueServing issues a one-year serving certificate for hosts.
func issueServing(ca *certAuthority, hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[len(hosts)-1]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue webhook certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
