package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/store"
)

func TestFail(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection reset")
	t.Run("an unreachable database makes the error unavailable", func(t *testing.T) {
		err := Fail(cause, true, "read %s", "x")
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, cause) || !strings.Contains(err.Error(), "read x: connection reset") {
			t.Errorf("Fail = %v", err)
		}
	})
	t.Run("a wrong statement is only wrapped", func(t *testing.T) {
		if err := Fail(cause, false, "read"); errors.Is(err, store.ErrUnavailable) || err.Error() != "read: connection reset" {
			t.Errorf("Fail = %v", err)
		}
	})
	t.Run("an error already unavailable is not marked twice", func(t *testing.T) {
		marked := fmt.Errorf("%w: begin: %w", store.ErrUnavailable, cause)
		if err := Fail(marked, true, "import"); strings.Count(err.Error(), store.ErrUnavailable.Error()) != 1 {
			t.Errorf("Fail = %v", err)
		}
	})
}

func TestPartition(t *testing.T) {
	t.Parallel()
	ids := DistinctIDs([]string{"c", "a", "b", "a"})
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("DistinctIDs = %q", ids)
	}
	if ids := DistinctIDs(nil); ids == nil || len(ids) != 0 {
		t.Errorf("DistinctIDs(nil) = %#v, want an empty slice", ids)
	}
	in, out := Partition([]string{"c", "a", "b"}, []string{"c", "a"})
	if !slices.Equal(in, []string{"a", "c"}) || !slices.Equal(out, []string{"b"}) {
		t.Errorf("Partition = %q, %q", in, out)
	}
}
