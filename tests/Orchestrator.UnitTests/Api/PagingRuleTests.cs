using Orchestrator.Api;

namespace Orchestrator.UnitTests.Api;

/// <summary>The one paging parser every list route uses: refusals name the parameter and the range; nothing is clamped.</summary>
public sealed class PagingRuleTests
{
    [Test]
    public void Nothing_given_is_the_first_page_at_the_default_size()
    {
        var errors = new FieldErrors();
        Assert.That(PagingRule.Standard.Read(null, null, errors), Is.EqualTo(new Paging(1, 50)));
        Assert.That(PagingRule.NewestOnly.Read(null, null, errors), Is.EqualTo(new Paging(1, 100)));
        Assert.That(errors.Any, Is.False);
    }

    [TestCase(1, 1)]
    [TestCase(7, 200)]
    public void Values_in_range_are_read_as_given(int page, int size)
    {
        var read = PagingRule.Standard.Read(page, size);
        Assert.That(read.Succeeded, Is.True);
        Assert.That(read.Value, Is.EqualTo(new Paging(page, size)));
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(201)]
    [TestCase(int.MaxValue)]
    public void A_page_size_out_of_range_is_refused_naming_it_and_the_range(int size)
    {
        var read = PagingRule.Standard.Read(null, size);
        Assert.That(read.Succeeded, Is.False);
        Assert.That(read.Problem!.Status, Is.EqualTo(422));
        var errors = ((Microsoft.AspNetCore.Http.HttpValidationProblemDetails)read.Problem).Errors;
        Assert.That(errors.Keys, Is.EquivalentTo(new[] { "pageSize" }));
        Assert.That(errors["pageSize"][0], Is.EqualTo($"must be a whole number between 1 and 200; {size} is not."));
    }

    [Test]
    public void A_route_s_own_maximum_is_the_one_named()
    {
        var errors = new FieldErrors();
        PagingRule.NewestOnly.Read(null, 1001, errors);
        Assert.That(errors.Entries["pageSize"][0], Does.StartWith("must be a whole number between 1 and 1000;"));
        Assert.That(PagingRule.NewestOnly.Read(null, 1000).Succeeded, Is.True);
    }

    [TestCase(0)]
    [TestCase(-5)]
    public void A_page_below_one_is_refused_naming_it(int page)
    {
        var errors = new FieldErrors();
        PagingRule.Standard.Read(page, 10, errors);
        Assert.That(errors.Entries.Keys, Is.EquivalentTo(new[] { "page" }));
        Assert.That(errors.Entries["page"][0], Is.EqualTo($"must be a whole number, 1 or more; {page} is not."));
    }

    [Test]
    public void A_cursor_with_a_page_is_refused_naming_both_where_the_route_takes_both()
    {
        var errors = new FieldErrors();
        PagingRule.NumberOrCursor.Read(2, null, errors, "abc");
        Assert.That(errors.Entries.Keys, Is.EquivalentTo(new[] { "page", "cursor" }));
        Assert.That(errors.Entries["cursor"][0], Does.Contain("not both"));

        var alone = new FieldErrors();
        PagingRule.NumberOrCursor.Read(null, 10, alone, "abc");
        PagingRule.NumberOrCursor.Read(3, 10, alone, "");
        Assert.That(alone.Any, Is.False, "a cursor alone, or an empty cursor with a page, is no conflict");
    }

    [Test]
    public void Text_that_is_not_a_number_gets_the_same_words_for_the_route_s_own_parameters()
    {
        Assert.That(PagingRule.Standard.NotANumber("pageSize"), Is.EqualTo("must be a whole number between 1 and 200"));
        Assert.That(PagingRule.Standard.NotANumber("page"), Is.EqualTo("must be a whole number, 1 or more"));
        Assert.That(PagingRule.NewestOnly.NotANumber("page"), Is.Null, "a route without page numbers has no 'page' parameter");
        Assert.That(PagingRule.Standard.NotANumber("hours"), Is.Null);
    }

    [Test]
    public void An_overview_counts_the_errors_and_shows_the_first_few()
    {
        var errors = new FieldErrors();
        for (var i = 0; i < 5; i++)
        {
            errors.Add($"items[{i}].name", "is required.");
        }

        Assert.That(errors.Count, Is.EqualTo(5));
        Assert.That(errors.Overview(), Is.EqualTo(
            "5 problems: items[0].name: is required; items[1].name: is required; items[2].name: is required; and 2 more (see errors)."));

        var one = new FieldErrors();
        one.Add("items[0].name", "'a.b' already exists.");
        Assert.That(one.Overview(), Is.EqualTo("1 problem: items[0].name: 'a.b' already exists."));
    }
}
