package mib

// The values of the enumerations the emulator writes, named once. TestEnums
// holds each to its label in the definitions.
const (
	// yes(1)/no(2): cpsmm100IsPrimary, CanPrimary, ICIF, LastGasp,
	// cpsIsPrimary, the converters' Fault, the power supplies' InUse.
	Yes int32 = 1
	No  int32 = 2
	// on(1)/off(2): cpsmm100EthernetLink, cpsSlotPwrState, PSPower1.
	On  int32 = 1
	Off int32 = 2
	// cpsmm100SaveConfig and cpsmm100Reset.
	SaveConfig   int32 = 1
	NoSaveConfig int32 = 2
	Reset        int32 = 1
	NoReset      int32 = 2
	// cpsmm100CacheClean and the converters' CacheClean.
	Clean int32 = 1
	Dirty int32 = 2
	// cpsmm100WantPrimary.
	WantYes    int32 = 1
	WantNo     int32 = 2
	WantAlways int32 = 3
)

// cpsEmuTrapMgrState.
const (
	TrapMgrActive       int32 = 1
	TrapMgrStandby      int32 = 2
	TrapMgrFailed       int32 = 3
	TrapMgrUnconfigured int32 = 4
	TrapMgrKeepaliveOff int32 = 5
)
