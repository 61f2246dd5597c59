//go:build !linux

package launcher

// recorderWatch is the launch's side of a recorder that reports itself;
// only Linux has one (terminalstatus_linux.go): prepareWindow returns none
// here, and these are never reached. They fail closed all the same.
type recorderWatch struct{}

func (*recorderWatch) serve(func(error))          {}
func (*recorderWatch) admitted() (int, bool)      { return 0, false }
func (*recorderWatch) finish() (int, bool, error) { return 0, false, ErrTampered }
