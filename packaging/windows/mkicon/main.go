// mkicon draws trustlaunch's icon and writes icon.png (256x256, which
// go-winres scales into the .exe's icon group) and trustlaunch.ico (the
// same PNG in an ICO container, the MSI's Add/Remove Programs icon).
// Both files are checked in; regenerate them with
//
//	go run ./packaging/windows/mkicon
//
// from the repository root. Drawn from code so that anyone can rebuild it
// and nothing of unknown licence is shipped: a dark tile, a terminal
// prompt ">" and a cursor bar, and a green "trusted" corner.
package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"path/filepath"
)

const size = 256

func main() {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	tile := color.NRGBA{0x1f, 0x2a, 0x44, 0xff}
	fg := color.NRGBA{0xf2, 0xf4, 0xf8, 0xff}
	ok := color.NRGBA{0x2e, 0xb8, 0x6e, 0xff}
	const r = 40 // corner radius of the tile
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if inRoundRect(x, y, 8, 8, size-8, size-8, r) {
				img.Set(x, y, tile)
			}
		}
	}
	// ">": two thick strokes meeting at (112, 128).
	for t := 0; t <= 48; t++ {
		for w := -11; w <= 11; w++ {
			img.Set(64+t+w, 80+t, fg)
			img.Set(64+t+w, 176-t, fg)
		}
	}
	// The cursor bar.
	fill(img, 132, 160, 196, 180, fg)
	// The green corner: a disc at the lower right.
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := x-200, y-200
			if dx*dx+dy*dy <= 30*30 {
				img.Set(x, y, ok)
			}
		}
	}
	var pngData bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&pngData, img); err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join("packaging", "windows")
	if err := os.WriteFile(filepath.Join(dir, "icon.png"), pngData.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	// ICO: ICONDIR (reserved, type 1, count 1) and one ICONDIRENTRY whose
	// width and height 0 mean 256; the image is the PNG itself, which
	// Windows Vista and later read in an ICO.
	var ico bytes.Buffer
	le := func(v any) { binary.Write(&ico, binary.LittleEndian, v) }
	le([3]uint16{0, 1, 1})
	le([4]uint8{0, 0, 0, 0})
	le([2]uint16{1, 32})
	le([2]uint32{uint32(pngData.Len()), 6 + 16})
	ico.Write(pngData.Bytes())
	if err := os.WriteFile(filepath.Join(dir, "trustlaunch.ico"), ico.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func fill(img *image.NRGBA, x0, y0, x1, y1 int, c color.NRGBA) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			img.Set(x, y, c)
		}
	}
}

func inRoundRect(x, y, x0, y0, x1, y1, r int) bool {
	if x < x0 || y < y0 || x >= x1 || y >= y1 {
		return false
	}
	cx, cy := x, y
	switch {
	case x < x0+r:
		cx = x0 + r
	case x >= x1-r:
		cx = x1 - r - 1
	}
	switch {
	case y < y0+r:
		cy = y0 + r
	case y >= y1-r:
		cy = y1 - r - 1
	}
	dx, dy := x-cx, y-cy
	return dx*dx+dy*dy <= r*r
}
