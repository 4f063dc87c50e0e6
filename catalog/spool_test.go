package catalog

import (
	"reflect"
	"testing"
)

// A spooled entity comes back as it was read: YAML's int64 and float64
// (an integer past 2^53 too), in order, in batches of the size asked.
func TestSpoolRoundTrip(t *testing.T) {
	sp, err := newSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	var want []Emission
	for i := range 5 {
		raw := Raw{"kind": "Component", "metadata": map[string]any{"name": "c", "n": int64(i)},
			"spec": map[string]any{"big": int64(1<<62 + 1), "ratio": 0.25, "tags": []any{"a", true, nil}}}
		want = append(want, Emission{raw, "file:/srv/c.yaml"})
		if err := sp.add(raw, "file:/srv/c.yaml"); err != nil {
			t.Fatal(err)
		}
	}
	var got []Emission
	var sizes []int
	err = sp.batches(2, func(batch []Emission) error {
		sizes = append(sizes, len(batch))
		got = append(got, batch...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sizes, []int{2, 2, 1}) {
		t.Errorf("batch sizes = %v, want [2 2 1]", sizes)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %v, want %v", got, want)
	}
}
