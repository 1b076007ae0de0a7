//go:build !race

package trapmgr

const raceOn = false
