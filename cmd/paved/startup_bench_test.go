package main

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkStartupToReady measures `paved serve` from the call to run until
// /readyz answers 200, on SQLite: "cold" on an empty data directory (creates
// the database and applies every migration), "warm" on an existing one.
func BenchmarkStartupToReady(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			startToReady(b, b.TempDir())
		}
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		startToReady(b, dir)
		b.ResetTimer()
		for b.Loop() {
			startToReady(b, dir)
		}
	})
}

func startToReady(b *testing.B, dataDir string) {
	start := time.Now()
	s := startServe(b, nil, "--data-dir", dataDir, "--log-level", "warn")
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 10*time.Second {
			b.Fatal("not ready within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	s.stop(b)
	b.StartTimer()
}
