// Command noregister is the mistake of a new plugin author: it links the
// SDK but never calls guest.Register, so describe returns nothing.
package main

import _ "github.com/ffwasmhost/ffwasmhost/abi/guest"

func main() {}
