package sqlite

// OnCheckpointBusy makes st call f after every attempt of a checkpoint that readers held up.
func OnCheckpointBusy(st *Store, f func()) { st.checkpointBusy = f }
