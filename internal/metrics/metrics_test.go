package metrics

import (
	"testing"
	"time"
)

// TestKeepRoutesDropsGoneSeries: once a snapshot no longer serves a route,
// its series are neither exported nor drawn; the others stay.
func TestKeepRoutesDropsGoneSeries(t *testing.T) {
	m := New()
	a := RouteID{"gloo-system/a", "routes[0]", "fa"}
	b := RouteID{"gloo-system/b", "routes[0]", "fb"}
	for _, id := range []RouteID{a, b} {
		m.ObserveRequest(Request{VirtualService: id.VirtualService, Route: id.Route, Function: id.Function,
			Status: 200, Start: time.Now(), Total: time.Millisecond, Lambda: time.Millisecond, Invoked: true})
	}
	m.ObserveRequest(Request{Status: 404, Code: "NoRoute", Start: time.Now(), Total: time.Millisecond})
	m.KeepRoutes(map[RouteID]bool{a: true, b: true})
	if got := seriesFor(t, m, a.VirtualService); got != 3 {
		t.Fatalf("route a has %d series before it is removed, want 3 (requests, duration, lambda duration)", got)
	}
	m.KeepRoutes(map[RouteID]bool{b: true})
	if got := seriesFor(t, m, a.VirtualService); got != 0 {
		t.Errorf("route a still has %d series after a snapshot without it", got)
	}
	if got := seriesFor(t, m, b.VirtualService); got != 3 {
		t.Errorf("route b has %d series, want 3", got)
	}
	if got := seriesFor(t, m, ""); got != 2 {
		t.Errorf("unrouted requests have %d series, want 2 (requests, duration)", got)
	}
	if st := m.Series.Route(RouteKey{a.VirtualService, a.Route}, time.Now(), 1); st.Total != 0 {
		t.Errorf("the dashboard still has route a's history: %+v", st)
	}
	if st := m.Series.Route(RouteKey{b.VirtualService, b.Route}, time.Now(), 1); st.Total != 1 {
		t.Errorf("the dashboard lost route b's history: %+v", st)
	}
}

// seriesFor counts the exported route series whose virtual_service is vs.
func seriesFor(t *testing.T, m *Metrics, vs string) int {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "virtual_service" && l.GetValue() == vs {
					n++
				}
			}
		}
	}
	return n
}

// TestStreamMetrics: a streamed answer records its time to first byte and
// its bytes, a cut one is counted by kind, and KeepRoutes drops them too.
func TestStreamMetrics(t *testing.T) {
	m := New()
	id := RouteID{"gloo-system/s", "routes[0]", "fs"}
	obs := func(cut bool, kind string) {
		m.ObserveRequest(Request{VirtualService: id.VirtualService, Route: id.Route, Function: id.Function, Status: 200,
			Start: time.Now(), Total: time.Second, Lambda: time.Second, Invoked: true, ErrorKind: kind,
			Streamed: true, FirstByte: 5 * time.Millisecond, BytesOut: 1000, StreamCut: cut})
	}
	obs(false, "")
	obs(true, "FunctionError")
	m.KeepRoutes(map[RouteID]bool{id: true})
	values := map[string]float64{}
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			switch {
			case metric.GetCounter() != nil:
				values[f.GetName()] += metric.GetCounter().GetValue()
			case metric.GetHistogram() != nil:
				values[f.GetName()] += float64(metric.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{
		"lambdagate_stream_bytes_total": 2000, "lambdagate_stream_first_byte_seconds": 2, "lambdagate_streams_cut_total": 1,
	} {
		if values[name] != want {
			t.Errorf("%s = %v, want %v", name, values[name], want)
		}
	}
	// requests, duration, lambda duration, lambda errors, the three stream series
	if got := seriesFor(t, m, id.VirtualService); got != 7 {
		t.Errorf("%d series, want 7", got)
	}
	m.KeepRoutes(map[RouteID]bool{})
	if got := seriesFor(t, m, id.VirtualService); got != 0 {
		t.Errorf("%d series left after the route went", got)
	}
}

// TestAuthDenied: a request refused by authentication counts under its
// reason and route; others do not count.
func TestAuthDenied(t *testing.T) {
	m := New()
	m.ObserveRequest(Request{Route: "routes[1]", Status: 401, Code: "Unauthorized", DenyReason: "missing_api_key", Start: time.Now()})
	m.ObserveRequest(Request{Route: "routes[1]", Status: 200, Start: time.Now()})
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "lambdagate_auth_denied_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["reason"] != "missing_api_key" || labels["route"] != "routes[1]" || s.GetCounter().GetValue() != 1 {
				t.Errorf("series %v = %v", labels, s.GetCounter().GetValue())
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no lambdagate_auth_denied_total series")
	}
}
