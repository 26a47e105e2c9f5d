//go:build tagged

package main

const variant = "tagged"
