package main

// ${{ values.name }} listens on ${{ values.port }}.
func main() {}
