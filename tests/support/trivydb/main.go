// Command trivydb-writer writes a bbolt database from a generic JSON description.
//
// It knows nothing about Trivy: the test helpers in tests/support/trivy_db.py decide which
// buckets, keys and values make a Trivy vulnerability database. The input is a JSON array of
//
//	{"bucket": ["outer", "inner", ...], "key": "name", "value": "any string (usually JSON)"}
//
// Buckets are nested in the order given and created when missing; the value is stored as the
// bytes of the string. Usage:
//
//	trivydb-writer OUT.db [INPUT.json]   (reads stdin when INPUT.json is omitted)
//
// Built offline with Debian's golang-go and golang-github-coreos-bbolt-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o trivydb-writer main.go
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

type entry struct {
	Bucket []string `json:"bucket"`
	Key    string   `json:"key"`
	Value  string   `json:"value"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "trivydb-writer: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fail("usage: trivydb-writer OUT.db [INPUT.json]")
	}
	var input io.Reader = os.Stdin
	if len(os.Args) == 3 {
		f, err := os.Open(os.Args[2])
		if err != nil {
			fail("%v", err)
		}
		defer f.Close()
		input = f
	}
	var entries []entry
	if err := json.NewDecoder(input).Decode(&entries); err != nil {
		fail("reading the input: %v", err)
	}

	out := os.Args[1]
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		fail("%v", err)
	}
	db, err := bolt.Open(out, 0o644, nil)
	if err != nil {
		fail("opening %s: %v", out, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for i, e := range entries {
			if len(e.Bucket) == 0 {
				return fmt.Errorf("entry %d (%q): a key needs at least one bucket", i, e.Key)
			}
			bkt, err := tx.CreateBucketIfNotExists([]byte(e.Bucket[0]))
			if err != nil {
				return fmt.Errorf("entry %d: bucket %q: %w", i, e.Bucket[0], err)
			}
			for _, name := range e.Bucket[1:] {
				if bkt, err = bkt.CreateBucketIfNotExists([]byte(name)); err != nil {
					return fmt.Errorf("entry %d: bucket %q: %w", i, name, err)
				}
			}
			if err := bkt.Put([]byte(e.Key), []byte(e.Value)); err != nil {
				return fmt.Errorf("entry %d: key %q: %w", i, e.Key, err)
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fail("%v", err)
	}
	fmt.Fprintf(os.Stderr, "trivydb-writer: %d entries written to %s\n", len(entries), out)
}
