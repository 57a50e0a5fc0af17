package render_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/render"
)

func ExampleRender() {
	d, err := layout.Lookup(layout.DefaultDesign)
	if err != nil {
		fmt.Println(err)
		return
	}
	var pdf bytes.Buffer
	if err := render.Render(&pdf, d, render.Sample(0), render.Sample(1)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(pdf.String(), "%PDF-"))
	// Output: true
}

func ExampleRender_overflow() {
	d, _ := layout.Lookup(layout.DefaultDesign)
	c := render.Sample(1)
	c.PlaceOfResidence = strings.Repeat("Thành phố Hồ Chí Minh, ", 20)
	err := render.Render(io.Discard, d, c)
	fmt.Println(errors.Is(err, render.ErrTextOverflow))
	fmt.Println(err)
	// Output:
	// true
	// render: card 0 (001061007919) back field PlaceOfResidence: text does not fit its box: "Thành phố Hồ Chí Minh, Thành phố Hồ Chí …" needs more than 4 line(s) of 58.0 mm in 8.2 mm even at 4.5 pt
}
