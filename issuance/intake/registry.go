package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
)

// ErrNotInRegister means an ID number is not in the population register.
var ErrNotInRegister = errors.New("intake: id_number: not in the population register")

// register returns the register's record for an ID number, unrecorded: Submit compares
// an application with it and discloses only the names of the fields that differ.
// Reads for a person go through Lookup.
func (s *Service) register(ctx context.Context, id string) (issuance.Person, error) {
	if _, err := idnum.Parse(id); err != nil {
		return issuance.Person{}, err
	}
	var p issuance.Person
	var dob time.Time
	var sex string
	err := s.db.QueryRow(ctx, `SELECT id_number, full_name, date_of_birth, sex, nationality, ethnicity, religion,
		place_of_origin, place_of_residence, identifying_features, father, mother, spouse, previous_id_number
		FROM residents WHERE id_number = $1`, id).Scan(&p.IDNumber, &p.FullName, &dob, &sex, &p.Nationality,
		&p.Ethnicity, &p.Religion, &p.PlaceOfOrigin, &p.PlaceOfResidence, &p.IdentifyingFeatures, &p.Father,
		&p.Mother, &p.Spouse, &p.PreviousIDNumber)
	if errors.Is(err, pgx.ErrNoRows) {
		return issuance.Person{}, fmt.Errorf("%w: %s", ErrNotInRegister, id)
	}
	if err != nil {
		return issuance.Person{}, fmt.Errorf("intake: register lookup: %w", err)
	}
	p.DateOfBirth = issuance.DateOf(dob)
	p.Sex = issuance.Sex(sex)
	return p, nil
}

// ChangedFields lists, by JSON name, the fields of got that differ from the register's
// record: what the clerk changed and a supervisor must look at.
func ChangedFields(register, got issuance.Person) []string {
	pairs := []struct {
		name string
		a, b string
	}{
		{"full_name", register.FullName, got.FullName},
		{"date_of_birth", register.DateOfBirth.String(), got.DateOfBirth.String()},
		{"sex", string(register.Sex), string(got.Sex)},
		{"nationality", register.Nationality, got.Nationality},
		{"ethnicity", register.Ethnicity, got.Ethnicity},
		{"religion", register.Religion, got.Religion},
		{"place_of_origin", register.PlaceOfOrigin, got.PlaceOfOrigin},
		{"place_of_residence", register.PlaceOfResidence, got.PlaceOfResidence},
		{"identifying_features", register.IdentifyingFeatures, got.IdentifyingFeatures},
		{"father", register.Father, got.Father},
		{"mother", register.Mother, got.Mother},
		{"spouse", register.Spouse, got.Spouse},
		{"previous_id_number", register.PreviousIDNumber, got.PreviousIDNumber},
	}
	out := []string{}
	for _, p := range pairs {
		if p.a != p.b {
			out = append(out, p.name)
		}
	}
	return out
}
