package demo

//go:generate go run ./internal/generate -o dataset.json
