package server

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambdagate/lambdagate/internal/admin"
)

// TestOverviewWithCorruptRecord: a record the store cannot decode does not
// blank the overview; it shows what is served and names the problem.
func TestOverviewWithCorruptRecord(t *testing.T) {
	o, _ := startObserved(t)
	db, err := sql.Open("sqlite", o.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE resources SET spec_json = '{"spec": {' WHERE kind = 'VirtualService' AND name = 'vs'`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupted %d rows, want 1", n)
	}
	// Any change makes the gateway read the store again.
	o.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: unrelated}\nstringData: {k: v}\n")
	deadline := time.Now().Add(10 * time.Second)
	for ready, _ := o.srv.Ready(); ready; ready, _ = o.srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not notice the corrupt record")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := o.do("POST", "/ok", nil); got != 200 {
		t.Fatalf("/ok answers %d while the record is corrupt; the last good version must serve", got)
	}

	resp, err := http.Get(o.admin + "/api/overview")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/api/overview answers %d with one corrupt record", resp.StatusCode)
	}
	var ov admin.Overview
	if err := json.NewDecoder(resp.Body).Decode(&ov); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ov.StoreProblem, "VirtualService gloo-system/vs") {
		t.Errorf("storeProblem %q does not name the corrupt record", ov.StoreProblem)
	}
	if len(ov.VirtualServices) != 1 || len(ov.VirtualServices[0].Routes) != 3 {
		t.Errorf("virtual services %+v: want the served one with its 3 routes", ov.VirtualServices)
	}
	if len(ov.Upstreams) != 1 || len(ov.Upstreams[0].Functions) != 3 {
		t.Errorf("upstreams %+v", ov.Upstreams)
	}

	var d admin.ConfigDump
	if err := json.Unmarshal([]byte(get(t, o.admin+"/config_dump")), &d); err != nil {
		t.Fatalf("/config_dump with one corrupt record: %v", err)
	}
	if d.StoreProblem == "" || len(d.VirtualServices) != 1 || len(d.Resources) != 3 {
		t.Errorf("dump: storeProblem %q, %d virtual services, %d readable resources (want 3)", d.StoreProblem, len(d.VirtualServices), len(d.Resources))
	}
}
