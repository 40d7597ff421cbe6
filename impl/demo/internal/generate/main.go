// Command generate writes impl/demo/dataset.json, the demo dataset the service embeds: one tenant,
// two organizations and 36 customers drawn with gofakeit, their secrets hashed with argon2id and
// their two-factor codes left out, as the importer would store them.
//
// It runs at `go generate ./impl/demo` (and `make generate`), never in the service, so that
// gofakeit stays out of the binary and the seconds of hashing stay out of start-up. Its output is
// the same on every run and every machine, so `make check-generated` can guard it.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "dataset.json", "the file to write")
	flag.Parse()
	data, err := generate()
	if err == nil {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate the demo dataset:", err)
		os.Exit(1)
	}
}
