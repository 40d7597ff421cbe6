package secrets

// What the external tests check of the package's internals.
const (
	MemoryKiB    = memoryKiB
	Iterations   = iterations
	Parallelism  = parallelism
	SaltLen      = saltLen
	KeyLen       = keyLen
	MinPepperLen = minPepperLen
)

var (
	ErrEmpty = errEmpty
	IsHash   = isHash
)
