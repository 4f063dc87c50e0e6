package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/logging"
	"github.com/paved-dev/paved/internal/testsupport"
)

// testOptions are the server's default settings.
var testOptions = Options{ShutdownTimeout: 30 * time.Second}

func newTestServer(t *testing.T, db *database.DB) (*Server, *testsupport.SyncBuffer) {
	t.Helper()
	logs := &testsupport.SyncBuffer{}
	s := NewServer(testOptions, logging.New(logs, logging.Options{Format: "json", Level: slog.LevelDebug}), db, Services{})
	s.echo.GET("/test/invalid", func(echo.Context) error {
		return paved.Invalid("entity is invalid", paved.Detail{Field: "metadata.name", Line: 4, Reason: "must be 1-63 characters"})
	})
	s.echo.GET("/test/internal", func(echo.Context) error {
		return errors.New("pq: password authentication failed for user admin")
	})
	s.echo.GET("/test/panic", func(echo.Context) error { panic("boom") })
	s.echo.POST("/test/body", func(c echo.Context) error {
		_, err := io.ReadAll(c.Request().Body)
		return err
	})
	s.echo.GET("/test/things/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	s.echo.GET("/test/payload", func(echo.Context) error {
		cause := paved.Errorf(paved.CodeUnprocessable, "the cluster refused a Role")
		return paved.WithPayload(cause, struct {
			Items []int `json:"items"`
		}{[]int{1, 2}})
	})
	s.echo.GET("/test/payload-internal", func(echo.Context) error {
		return paved.WithPayload(errors.New("etcd: leader changed"), map[string]any{"applied": 1, "error": "cannot replace error"})
	})
	s.echo.POST("/test/strict", func(c echo.Context) error {
		var v struct {
			Team string `json:"team"`
		}
		return bindJSON(c, &v)
	})
	s.echo.POST("/test/lenient", func(c echo.Context) error {
		var v struct {
			Team string `json:"team"`
		}
		if err := bindBackstageJSON(c, &v); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	return s, logs
}

func do(t *testing.T, h http.Handler, method, path string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestErrorResponses(t *testing.T) {
	s, logs := newTestServer(t, nil)
	tests := []struct {
		Name       string
		Method     string
		Path       string
		Body       io.Reader
		WantStatus int
		WantBody   string // JSON without requestId
	}{
		{"Invalid", "GET", "/test/invalid", nil, 400,
			`{"error":{"code":"invalid","message":"entity is invalid","details":[{"field":"metadata.name","line":4,"reason":"must be 1-63 characters"}]}}`},
		{"InternalHidden", "GET", "/test/internal", nil, 500, `{"error":{"code":"internal","message":"internal error"}}`},
		{"Panic", "GET", "/test/panic", nil, 500, `{"error":{"code":"internal","message":"internal error"}}`},
		{"NoRoute", "GET", "/nope", nil, 404, `{"error":{"code":"not_found","message":"no such route: GET /nope"}}`},
		{"WrongMethod", "DELETE", "/healthz", nil, 405, `{"error":{"code":"invalid","message":"method DELETE is not allowed on /healthz"}}`},
		{"TooLarge", "POST", "/test/body", strings.NewReader(strings.Repeat("x", 11<<20)), 413,
			`{"error":{"code":"too_large","message":"Request Entity Too Large"}}`},
		{"Payload", "GET", "/test/payload", nil, 422,
			`{"error":{"code":"unprocessable","message":"the cluster refused a Role"},"items":[1,2]}`},
		{"PayloadOfInternal", "GET", "/test/payload-internal", nil, 500,
			`{"error":{"code":"internal","message":"internal error"},"applied":1}`},
		{"UnknownField", "POST", "/test/strict", strings.NewReader(`{"team":"a","teem":"b"}`), 400,
			`{"error":{"code":"invalid","message":"request body is not valid","details":[{"field":"body","reason":"unknown field \"teem\""}]}}`},
		{"TwoValues", "POST", "/test/strict", strings.NewReader(`{"team":"a"} {}`), 400,
			`{"error":{"code":"invalid","message":"request body is not valid","details":[{"field":"body","reason":"more than one JSON value"}]}}`},
		{"XMLBody", "POST", "/test/strict", strings.NewReader(`<team>a</team>`), 415,
			`{"error":{"code":"unsupported_media_type","message":"this route reads JSON: send the body as Content-Type: application/json"}}`},
		{"EmptyBody", "POST", "/test/lenient", nil, 400,
			`{"error":{"code":"invalid","message":"request body is empty","details":[{"field":"body","reason":"want a JSON object"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			var header []string
			if tt.Name == "XMLBody" {
				header = []string{"Content-Type", "application/xml"}
			}
			rec := do(t, s, tt.Method, tt.Path, tt.Body, header...)
			if rec.Code != tt.WantStatus {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.WantStatus, rec.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			e, _ := got["error"].(map[string]any)
			if e["requestId"] != rec.Header().Get("X-Request-Id") || rec.Header().Get("X-Request-Id") == "" {
				t.Fatalf("requestId %v does not match header %q", e["requestId"], rec.Header().Get("X-Request-Id"))
			}
			delete(e, "requestId")
			var want map[string]any
			if err := json.Unmarshal([]byte(tt.WantBody), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("body = %s\nwant   %s", rec.Body, tt.WantBody)
			}
		})
	}
	l := logs.String()
	if !strings.Contains(l, "password authentication failed") || !strings.Contains(l, `"level":"ERROR"`) {
		t.Fatalf("internal error was not logged with its cause:\n%s", l)
	}
	if !strings.Contains(l, `"msg":"panic in handler","err":"boom","stack":"goroutine`) {
		t.Fatalf("panic was not logged with its stack:\n%s", l)
	}
}

func TestRequestID(t *testing.T) {
	s, logs := newTestServer(t, nil)
	tests := []struct {
		Name   string
		Header string
		Keep   bool
	}{
		{"CallersIDKept", "trace-42.a", true},
		{"GeneratedWhenAbsent", "", false},
		{"ForgedReplaced", "x\" level=ERROR msg=forged", false},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			rec := do(t, s, "GET", "/test/things/7", nil, "X-Request-Id", tt.Header)
			id := rec.Header().Get("X-Request-Id")
			if tt.Keep != (id == tt.Header) || !validRequestID.MatchString(id) {
				t.Fatalf("response id = %q for request id %q, keep = %v", id, tt.Header, tt.Keep)
			}
			if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
				t.Fatalf("no log line carries request_id %q:\n%s", id, logs)
			}
		})
	}
}

func TestMetricsLabelRouteTemplates(t *testing.T) {
	s, _ := newTestServer(t, nil)
	for _, p := range []string{"/test/things/1", "/test/things/2", "/no/such/thing"} {
		do(t, s, "GET", p, nil)
	}
	body := do(t, s, "GET", "/metrics", nil).Body.String()
	for _, want := range []string{
		`paved_http_requests_total{code="204",method="GET",route="/test/things/:id"} 2`,
		`paved_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`paved_http_request_duration_seconds_bucket{code="204",method="GET",route="/test/things/:id",le="0.001"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `route="/test/things/1"`) {
		t.Error("/metrics labels a raw path")
	}
}

func TestReadiness(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		db := testsupport.OpenEmptyDB(t, dialect)
		s, _ := newTestServer(t, db)
		check := func(wantStatus int, wantBody string) {
			t.Helper()
			rec := do(t, s, "GET", "/readyz", nil)
			if rec.Code != wantStatus || strings.TrimSpace(rec.Body.String()) != wantBody {
				t.Fatalf("/readyz = %d %s, want %d %s", rec.Code, rec.Body, wantStatus, wantBody)
			}
		}
		check(503, `{"status":"not ready","checks":{"database":"ok","migrations":"pending"}}`)
		if _, err := db.Migrate(ctx, testsupport.DiscardLogger()); err != nil {
			t.Fatal(err)
		}
		check(200, `{"status":"ready","checks":{"database":"ok","migrations":"ok"}}`)
		db.Close()
		check(503, `{"status":"not ready","checks":{"database":"unreachable","migrations":"unknown"}}`)
		if rec := do(t, s, "GET", "/healthz", nil); rec.Code != 200 {
			t.Fatalf("/healthz = %d with the database down, want 200", rec.Code)
		}
	})
}

// Shutdown lets an in-flight request finish when it fits in the timeout and
// cuts it off, reporting so, when it does not.
func TestServeDrainsInFlightRequests(t *testing.T) {
	tests := []struct {
		Name      string
		Timeout   time.Duration
		Hold      time.Duration
		WantOK    bool
		WantError string
	}{
		{"Drained", 5 * time.Second, 300 * time.Millisecond, true, ""},
		{"CutOff", 200 * time.Millisecond, 3 * time.Second, false, "cut off"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			s, _ := newTestServer(t, nil)
			s.opts.ShutdownTimeout = tt.Timeout
			started := make(chan struct{})
			s.echo.GET("/test/slow", func(c echo.Context) error {
				close(started)
				time.Sleep(tt.Hold)
				return c.String(http.StatusOK, "done")
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()

			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String() + "/test/slow")
				if err != nil {
					got <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				got <- result{string(b), err}
			}()
			<-started
			cancel()
			r := <-got
			if ok := r.err == nil && r.body == "done"; ok != tt.WantOK {
				t.Fatalf("in-flight request: body %q, err %v; want completed = %v", r.body, r.err, tt.WantOK)
			}
			err = <-served
			if (tt.WantError == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.WantError)) {
				t.Fatalf("Serve returned %v, want error containing %q", err, tt.WantError)
			}
		})
	}
}

// A client that sends its headers and one byte of its body, then stalls,
// is cut off after the read timeout instead of holding the connection.
func TestSlowClientCutOff(t *testing.T) {
	s, _ := newTestServer(t, nil)
	s.limits.read = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /test/body HTTP/1.1\r\nHost: paved\r\nContent-Length: 100\r\n\r\nx")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn) // the server closes the connection
	if elapsed := time.Since(start); err != nil || elapsed > 3*time.Second {
		t.Fatalf("connection held for %s (err %v), want it closed after about 300ms", elapsed, err)
	}
	if apiLimits.read == 0 || apiLimits.write == 0 || apiLimits.maxHeaderBytes == 0 {
		t.Errorf("limits = %+v, want read and write timeouts and a header limit", apiLimits)
	}
}

// A request its client cancelled is answered 499, logged as cancelled
// (not as a server error) and counted apart.
func TestCancelledRequestIsNotAServerError(t *testing.T) {
	s, logs := newTestServer(t, nil)
	s.echo.GET("/test/wait", func(c echo.Context) error {
		<-c.Request().Context().Done()
		return fmt.Errorf("query: %w", c.Request().Context().Err())
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/test/wait", nil).WithContext(ctx))
	if rec.Code != statusClientClosed {
		t.Errorf("status = %d, want 499", rec.Code)
	}
	if l := logs.String(); strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, `"status":499`) {
		t.Errorf("logs:\n%s\nwant no ERROR and the request logged with status 499", l)
	}
	if n := counterValue(t, s, `paved_http_requests_total{code="499",method="GET",route="/test/wait"}`); n != 1 {
		t.Errorf("499s counted = %v, want 1", n)
	}
}

// Deeply nested JSON is refused with a 400, on the API and at the webhook,
// instead of exhausting the stack.
func TestDeeplyNestedJSONIsRefused(t *testing.T) {
	s := newPolicyServer(t, database.SQLite, nil)
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	rec := do(t, s, "POST", "/api/policies/evaluate", strings.NewReader(`{"target":"admission","input":{"request":`+deep+`}}`), "Content-Type", "application/json")
	if rec.Code != http.StatusBadRequest {
		t.Errorf("evaluate with 100,000 nested arrays = %d %s", rec.Code, rec.Body)
	}
	rec = do(t, s.webhook, "POST", "/admission/validate", strings.NewReader(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":`+deep+`}}`))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("review with 100,000 nested arrays = %d %s", rec.Code, rec.Body)
	}
}
