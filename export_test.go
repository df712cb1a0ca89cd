package roster

// QueueExpertReport lets the tests outside the package queue a report as
// the code that ends an Expert's access does, inside its transaction.
var QueueExpertReport = (*Service).queueExpertReport
