//go:build race

package negotiation

// raceEnabled: the race detector slows the property test about tenfold;
// under it, TestRandomSchedules runs an eighth of its schedules (the
// detector needs few: the shards share nothing but the counters).
const raceEnabled = true
