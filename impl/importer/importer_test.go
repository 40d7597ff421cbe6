package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/store/storetest"
)

// array returns a JSON array of n customers, with record bad (if >= 0) replaced by raw.
func array(n, bad int, raw string) string {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		if i == bad {
			b.WriteString(raw)
			continue
		}
		fmt.Fprintf(&b, `{"customer":{"id":"cus-%05d","customerName":"Customer %d"}}`, n-i, i)
	}
	b.WriteString("]")
	return b.String()
}

func TestImportKeepsEveryRecordInOrder(t *testing.T) {
	st, _ := apitest.MustSQLite(t)
	c, _ := contract.Load()
	sum, err := importer.Import(context.Background(), st, c, "t1", "o1", strings.NewReader(array(2000, -1, "")), importer.Options{})
	if err != nil || sum.Created != 2000 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	_, got, err := storetest.Collect(context.Background(), st, "t1", "o1")
	if err != nil || len(got) != 2000 || got[0].ID != "cus-00001" || got[1999].ID != "cus-02000" {
		t.Fatalf("stored %d customers, %v", len(got), err)
	}
}

func TestABadRecordNamesItsIndexAndWritesNothing(t *testing.T) {
	c, _ := contract.Load()
	tests := []struct {
		name  string
		input string
		index int // -1: an error about the array, not a record
		want  string
	}{
		{"enum value", array(500, 321, `{"customer":{"id":"x","customerStatus":"gone"}}`), 321, "/customer/customerStatus"},
		{"unknown field", array(500, 7, `{"customer":{"id":"x","pasword":"typo"}}`), 7, "/customer"},
		{"no id", array(500, 499, `{"customer":{"customerName":"n"}}`), 499, "/customer/id"},
		{"repeated id", array(500, 450, `{"customer":{"id":"cus-00001"}}`), 499, "repeats the id of record 450"},
		{"broken JSON", array(50, 20, `{"customer":`), 20, "not valid JSON"},
		{"counted from 0", array(5, 0, `{"customer":{"customerName":"n"}}`), 0, "record 0 (counting from 0): /customer/id"},
		{"no wrapper", array(5, 3, `{"id":"x","customerName":"n"}`), 3, `each record is {"customer": {...}}`},
		{"not an array", `{"customer":{}}`, -1, "not a JSON array"},
		{"empty", "", -1, "the input is empty"},
		{"only white space", " \n\t", -1, "the input is empty"},
		{"trailing data", array(3, -1, "") + `[]`, -1, "after the JSON array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := apitest.MustSQLite(t)
			_, err := importer.Import(context.Background(), st, c, "t1", "o1", strings.NewReader(tc.input), importer.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			var re *importer.RecordError
			if tc.index >= 0 && (!errors.As(err, &re) || re.Index != tc.index) {
				t.Fatalf("err = %v, want record %d", err, tc.index)
			}
			if empty, _ := st.Empty(context.Background()); !empty {
				t.Error("a failed import wrote something")
			}
		})
	}
}
