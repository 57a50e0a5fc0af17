package vpcd

// SetQuickAck switches TCP_QUICKACK for Slots attached afterwards and returns a func that
// restores the previous setting (for the latency benchmark only).
func SetQuickAck(on bool) (restore func()) {
	old := quickAck
	quickAck = on
	return func() { quickAck = old }
}
