package intake

import (
	"strings"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/printqueue/fonts"
	"github.com/cccd-project/cccd/printqueue/layout"
)

// checkPrintable runs the card face's fitting rule (printqueue/layout.Fit: wrap onto the
// lines the box allows, then smaller type down to the design's minimum) on every text the
// faces print from the application, on every design a printer may use. Intake refuses here,
// before anything is written, what could never be printed: a chip is never written for a
// card whose face cannot be made.
func checkPrintable(p issuance.Person) error {
	for _, name := range layout.Names() {
		d, err := layout.Lookup(name)
		if err != nil {
			return err
		}
		for _, f := range []struct{ json, field, value string }{
			{"full_name", "FullName", strings.ToUpper(p.FullName)}, // printed in capitals (personalization/prep.Printed)
			{"place_of_residence", "PlaceOfResidence", p.PlaceOfResidence},
			{"place_of_origin", "PlaceOfOrigin", p.PlaceOfOrigin},
			{"place_of_origin", "PlaceOfBirth", p.PlaceOfOrigin}, // the 2024 face prints the place of origin there
			{"identifying_features", "IdentifyingFeatures", p.IdentifyingFeatures},
		} {
			if err := layout.FitField(fonts.SansWidth, d, f.field, f.value); err != nil {
				return issuance.FieldError{Field: f.json, Err: err,
					Rule: "too long to print on the card face: " + strings.ReplaceAll(err.Error(), "layout: ", "")}
			}
		}
	}
	return nil
}
