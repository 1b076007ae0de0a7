//go:build !race

package negotiation

const raceEnabled = false
