//go:build race

package trapmgr

// raceOn: the race detector slows the property test about tenfold.
const raceOn = true
