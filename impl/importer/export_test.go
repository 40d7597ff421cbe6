package importer

// RecordError is the error that names the record that stopped an import, for the tests.
type RecordError = recordError
